// Message changes live and replayed: edit, delete and reaction frames on room sockets with events=changes
// and on the user stream, nothing new on seed sockets, resume in the room's order, and the erasure of a
// deleted text from the SQLite file and its WAL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { opensSqliteFile } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, openStream, sendAll, Socket, streamUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account;
let room: number;
let sock: Socket; // ann's, plain

beforeAll(async () => {
  s = await startServer();
  [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
  room = await createRoom(s.url, ann, [ben]);
  sock = await Socket.open(chatUrl(s, room, ann));
});
afterAll(async () => {
  sock.close();
  await s.stop();
});

const at = (id: number) => `/v1/rooms/${room}/messages/${id}`;
const edit = (id: number, text: string) => call(s.url, "PATCH", at(id), { session: ann.session, body: { text } });
const del = (id: number) => call(s.url, "DELETE", at(id), { session: ann.session });
const react = (who: Account, id: number, emoji: string, method = "PUT") =>
  call(s.url, method, `${at(id)}/reactions/${encodeURIComponent(emoji)}`, { session: who.session });
const roomSeq = async () =>
  (await call(s.url, "GET", `/v1/rooms/${room}`, { session: ann.session })).body.seq as number;
const isChange = (f: any) => ["edit", "delete", "reaction"].includes(f.type);

// An edit, a reaction and a delete of one message, the frames every opted-in socket should get.
async function threeChanges(text: string) {
  const [m] = await sendAll(sock, [text]);
  const edited = (await edit(m.id, `${text}!`)).body;
  await react(ben, m.id, "👍");
  await del(m.id);
  return { m, edited };
}
function expectThree(frames: any[], m: any, edited: any) {
  expect(frames).toEqual([
    { type: "edit", room_id: room, seq: m.seq + 1, message: edited },
    {
      type: "reaction",
      room_id: room,
      seq: m.seq + 2,
      message_id: m.id,
      reactions: [{ emoji: "👍", user_ids: [ben.id] }],
    },
    { type: "delete", room_id: room, seq: m.seq + 3, message_id: m.id },
  ]);
}

describe("live", () => {
  test("a room socket with events=changes gets edit, reaction and delete in the room's order", async () => {
    const ws = await Socket.open(chatUrl(s, room, ben, { events: "changes" }));
    const { m, edited } = await threeChanges("live one");
    expect(await ws.next()).toEqual({ type: "message", ...m });
    expectThree(await ws.take(3), m, edited);
    ws.close();
  });

  test("a seed socket without events, and one with events=members, get nothing new", async () => {
    const plain = await Socket.open(chatUrl(s, room, ben));
    const members = await Socket.open(chatUrl(s, room, ben, { events: "members,typing" }));
    const { m } = await threeChanges("quiet");
    const [marker] = await sendAll(sock, ["marker"]);
    expect(await plain.take(2)).toEqual([m, marker]);
    expect((await members.take(2)).map((f) => f.id)).toEqual([m.id, marker.id]);
    plain.close();
    members.close();
  });

  test("the user stream gets every change of its rooms, always", async () => {
    const st = await openStream(streamUrl(s, ben));
    await st.next((f) => f.type === "hello");
    st.send({ type: "resume", rooms: { [room]: await roomSeq() } });
    await st.next((f) => f.type === "synced");
    const { m, edited } = await threeChanges("streamed");
    expect(await st.next((f) => f.type === "message")).toEqual({ type: "message", ...m });
    expectThree(await st.take(3, isChange), m, edited);
    st.close();
  });
});

describe("resume", () => {
  test("events=changes&after=seq replays the changes; an edit shows the message as it is now", async () => {
    const [a, b] = await sendAll(sock, ["first", "second"]);
    const from = b.seq;
    await edit(a.id, "first, edited");
    const again = (await edit(a.id, "first, edited twice")).body;
    await edit(b.id, "second, edited");
    await react(ben, a.id, "🎉");
    await del(b.id);
    const [c] = await sendAll(sock, ["third"]);
    const ws = await Socket.open(chatUrl(s, room, ben, { events: "changes", after: from }));
    const frames = await ws.take(6);
    const now = { ...again, reactions: [{ emoji: "🎉", user_ids: [ben.id] }] }; // as it is now: reacted to since
    const tombstone = { id: b.id, room_id: room, user_id: ann.id, text: "", created_at: b.created_at, seq: b.seq };
    expect(frames).toEqual([
      { type: "edit", room_id: room, seq: from + 1, message: now },
      { type: "edit", room_id: room, seq: from + 2, message: now },
      {
        type: "edit",
        room_id: room,
        seq: from + 3,
        message: { ...tombstone, client_id: b.client_id, edited_at: expect.any(String), deleted: true },
      },
      {
        type: "reaction",
        room_id: room,
        seq: from + 4,
        message_id: a.id,
        reactions: [{ emoji: "🎉", user_ids: [ben.id] }],
      },
      { type: "delete", room_id: room, seq: from + 5, message_id: b.id },
      { type: "message", ...c },
    ]);
    ws.close();
  });

  test("a deleted message is not replayed: its seq is a gap, its delete event follows", async () => {
    const [x, y] = await sendAll(sock, ["x", "y"]);
    await del(x.id);
    const ws = await Socket.open(chatUrl(s, room, ben, { events: "changes", after: x.seq - 1 }));
    expect((await ws.take(2)).map((f) => [f.type, f.seq])).toEqual([
      ["message", y.seq],
      ["delete", y.seq + 1],
    ]);
    const plain = await Socket.open(chatUrl(s, room, ben, { after: x.id - 1 }));
    expect((await plain.next()).id).toBe(y.id); // by id, as ever: x is skipped
    ws.close();
    plain.close();
  });

  test("events=members&after=seq skips the changes but counts their seqs", async () => {
    const [p] = await sendAll(sock, ["p"]);
    await edit(p.id, "p2");
    const [q] = await sendAll(sock, ["q"]);
    const ws = await Socket.open(chatUrl(s, room, ben, { events: "members", after: p.seq - 1 }));
    expect((await ws.take(2)).map((f) => f.seq)).toEqual([p.seq, q.seq]);
    const [r] = await sendAll(sock, ["r"]); // nothing else arrives before it
    expect((await ws.next()).id).toBe(r.id);
    ws.close();
  });

  test("the user stream's resume replays the changes in order, once", async () => {
    const from = await roomSeq();
    const { m, edited } = await threeChanges("while away");
    const st = await openStream(streamUrl(s, ben));
    await st.next((f) => f.type === "hello");
    st.send({ type: "resume", rooms: { [room]: from } });
    const frames: any[] = [];
    for (let f = await st.next(); f.type !== "synced"; f = await st.next()) frames.push(f);
    // The message was deleted since: not replayed; its edit shows the tombstone.
    expect(frames.map((f) => [f.type, f.seq])).toEqual([
      ["edit", m.seq + 1],
      ["reaction", m.seq + 2],
      ["delete", m.seq + 3],
    ]);
    expect(frames[0].message).toEqual({
      ...m,
      text: "",
      edited_at: edited.edited_at,
      deleted: true,
    });
    st.close();
  });
});

describe("retries", () => {
  test("a retried send of a deleted message is acknowledged with its tombstone and not stored again", async () => {
    sock.send({ text: "oops", client_id: "retry-1" });
    const m = await sock.next((f) => f.client_id === "retry-1");
    await del(m.id);
    sock.send({ text: "oops", client_id: "retry-1" });
    const ack = await sock.next((f) => f.client_id === "retry-1");
    expect(ack).toEqual({ ...m, text: "", deleted: true });
    const h = await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: ann.session });
    expect(h.body.map((x: any) => x.client_id)).not.toContain("retry-1");
  });
});

describe("erasure", () => {
  test("a deleted message's text, and its earlier version, are in neither the SQLite file nor its WAL", async () => {
    if (!opensSqliteFile("the erasure test")) return;
    const first = `zebraquokka${crypto.randomUUID().slice(0, 8)}`;
    const second = `walruspangolin${crypto.randomUUID().slice(0, 8)}`;
    const [m] = await sendAll(sock, [`${first} said once`]);
    await edit(m.id, `${second} said later`);
    await sendAll(sock, ["something else"]);
    const files = [s.db, `${s.db}-wal`].filter((f) => existsSync(f));
    // The test can see a text: the current one is there before the delete.
    expect(files.some((f) => readFileSync(f).includes(second))).toBe(true);
    expect((await del(m.id)).status).toBe(200);
    for (const file of files) {
      const bytes = readFileSync(file);
      expect({ file, first: bytes.includes(first), second: bytes.includes(second) }).toEqual({
        file,
        first: false,
        second: false,
      });
    }
    // What is left stays readable: the other message, in history.
    const h = await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=5`, { session: ben.session });
    expect(h.body.map((x: any) => x.text)).toContain("something else");
    expect(isMessage(h.body[0])).toBe(true);
  });
});
