// The user stream (WS /v1/stream): hello, resume with a map of last seqs (replay, resync, room,
// room_removed, synced), live durable frames of every room, membership changes of its user, sending.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, register, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, openStream, sendAll, Socket, streamUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account, cat: Account;
beforeAll(async () => {
  s = await startServer();
  [ann, ben, cat] = await registerAll(s.url, ["ann", "ben", "cat"]);
});
afterAll(() => s.stop());

async function group(owner: Account, members: Account[]): Promise<number> {
  const r = await call(s.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { name: "S", users: members.map((u) => ({ id: u.id })) },
  });
  return r.body.id;
}
// A stream resumed with `rooms`: its frames up to synced (the hello taken first).
async function resumed(who: Account, rooms: Record<number, number>, t: TestServer = s) {
  const st = await openStream(streamUrl(t, who));
  expect(await st.next()).toEqual({ type: "hello", user: { id: who.id, login: who.login } });
  st.send({ type: "resume", rooms });
  const frames = [];
  for (;;) {
    const f = await st.next();
    if (f.type === "synced") return { st, frames };
    frames.push(f);
  }
}
const add = (who: Account, room: number, user: Account) =>
  call(s.url, "POST", `/v1/rooms/${room}/users`, { session: who.session, body: { users: [{ id: user.id }] } });
const leave = (who: Account, room: number) =>
  call(s.url, "DELETE", `/v1/rooms/${room}/users/${who.id}`, { session: who.session });

describe("resume", () => {
  test("with no state: hello, one room frame per room, synced; nothing live before the resume", async () => {
    const dan = await register(s.url, "dan");
    const direct = await createRoom(s.url, dan, [ann]);
    const g = await group(ann, [dan]);
    const st = await openStream(streamUrl(s, dan));
    expect(await st.next()).toEqual({ type: "hello", user: { id: dan.id, login: "dan" } });
    const sa = await Socket.open(chatUrl(s, g, ann));
    await sendAll(sa, ["held"]); // before the resume: not sent live, found by the resume instead
    expect(st.inbox).toEqual([]);
    st.send({ type: "resume", rooms: {} });
    const frames = await st.take(3);
    expect(
      frames
        .slice(0, 2)
        .map((f) => [f.type, f.room_id])
        .sort(),
    ).toEqual(
      [
        ["room", direct],
        ["room", g],
      ].sort(),
    );
    const groupFrame = frames.find((f) => f.room_id === g);
    expect(groupFrame).toEqual({
      type: "room",
      room_id: g,
      seq: 2,
      room: expect.objectContaining({ name: "S", seq: 2 }),
    });
    expect(frames[2]).toEqual({ type: "synced" });
    await sendAll(sa, ["live"]);
    expect(await st.next()).toMatchObject({ type: "message", room_id: g, text: "live", seq: 3 });
    await Promise.all([st.close(), sa.close()]);
  });

  test("with a map: what was missed per room in order, room_removed, room for rooms joined while away", async () => {
    const kept = await group(ann, [ben]);
    const left = await group(ann, [ben]);
    const { st: first, frames: initial } = await resumed(ben, {});
    const seqs = Object.fromEntries(initial.map((f) => [f.room_id, f.seq]));
    await first.close();
    // Away: messages and a member in `kept`, ben leaves `left`, is added to a new group.
    const sa = await Socket.open(chatUrl(s, kept, ann));
    await sendAll(sa, ["one", "two"]);
    await add(ann, kept, cat);
    await sendAll(sa, ["three"]);
    await leave(ben, left);
    const joined = await group(cat, [ben]);
    const { st, frames } = await resumed(ben, seqs);
    const inKept = frames.filter((f) => f.room_id === kept);
    expect(inKept.map((f) => [f.type, f.seq, f.text])).toEqual([
      ["message", seqs[kept] + 1, "one"],
      ["message", seqs[kept] + 2, "two"],
      ["members", seqs[kept] + 3, undefined],
      ["message", seqs[kept] + 4, "three"],
    ]);
    expect(frames).toContainEqual({ type: "room_removed", room_id: left });
    expect(frames.find((f) => f.room_id === joined)).toMatchObject({ type: "room", seq: 1 });
    // Only what the map's rooms missed: rooms unchanged since send nothing.
    const others = frames.filter((f) => ![kept, left, joined].includes(f.room_id));
    expect(others).toEqual([]);
    await Promise.all([st.close(), sa.close()]);
  });

  test("more than 1000 frames missed gives resync with the room's seq; exactly 1000 are replayed", async () => {
    const room = await group(ann, [cat]);
    const sa = await Socket.open(chatUrl(s, room, ann));
    await sendAll(
      sa,
      Array.from({ length: 1001 }, (_, i) => `m${i}`),
    ); // seqs 2..1002
    const { st: full, frames } = await resumed(cat, { [room]: 2 });
    expect(frames.filter((f) => f.room_id === room).map((f) => f.seq)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 3),
    );
    const { st: gap, frames: resync } = await resumed(cat, { [room]: 1 });
    expect(resync.filter((f) => f.room_id === room)).toEqual([{ type: "resync", room_id: room, seq: 1002 }]);
    await Promise.all([sa.close(), full.close(), gap.close()]);
  });

  test("frames sent while a stream resumes are neither lost nor doubled", async () => {
    const room = await group(ann, [ben]);
    const sa = await Socket.open(chatUrl(s, room, ann));
    const texts = Array.from({ length: 200 }, (_, i) => `f${i}`);
    const sending = sendAll(sa, texts);
    const { st, frames } = await resumed(ben, { [room]: 1 });
    await sending;
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: ben.session });
    const want = history.body.map((m: any) => m.seq);
    const got = frames.filter((f) => f.room_id === room).map((f) => f.seq);
    while (got.length < want.length) got.push((await st.next((f) => f.room_id === room)).seq);
    expect(got).toEqual(want);
    expect(st.inbox.filter((f) => f.room_id === room)).toEqual([]);
    await Promise.all([sa.close(), st.close()]);
  });

  test("a stream that sends no resume within 10 s is closed with 1008", async () => {
    const st = await openStream(streamUrl(s, cat));
    await st.next(); // hello
    s.clock.advance(10_000);
    expect((await st.closed).code).toBe(1008);
  });

  test("bad frames: a malformed resume, a second resume, an unknown type", async () => {
    const st = await openStream(streamUrl(s, cat));
    await st.next();
    st.send({ type: "resume", rooms: { abc: 1 } });
    expect((await st.next()).error.code).toBe("invalid_json");
    st.send({ type: "wave" });
    expect((await st.next()).error.code).toBe("unknown_type");
    st.send("{nope");
    expect((await st.next()).error.code).toBe("invalid_json");
    st.send({ type: "resume", rooms: {} });
    while ((await st.next()).type !== "synced");
    st.send({ type: "resume", rooms: {} });
    expect((await st.next()).error.code).toBe("invalid_json");
    await st.close();
  });
});

describe("live", () => {
  test("added to a room: a room frame, then its frames; removed: room_removed, then nothing from it", async () => {
    const room = await group(ann, []);
    const { st } = await resumed(cat, {});
    await add(ann, room, cat);
    expect(await st.next()).toMatchObject({ type: "room", room_id: room, seq: 2, room: { name: "S" } });
    const sa = await Socket.open(chatUrl(s, room, ann));
    await sendAll(sa, ["for cat"]);
    expect(await st.next()).toMatchObject({ type: "message", text: "for cat", seq: 3 });
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${cat.id}`, { session: ann.session });
    expect(await st.next()).toMatchObject({ type: "members", removed: [cat.id], seq: 4 });
    expect(await st.next()).toEqual({ type: "room_removed", room_id: room });
    await sendAll(sa, ["not for cat"]);
    await add(ann, room, ben); // a frame in another of cat's rooms would show up; this one must not
    const marker = await group(ann, [cat]);
    expect(await st.next()).toMatchObject({ type: "room", room_id: marker });
    expect(st.inbox).toEqual([]);
    await Promise.all([st.close(), sa.close()]);
  });

  test("sending: the message is stored and comes back as its ack; retries, other rooms and bad text refused", async () => {
    const room = await group(ann, [ben]);
    const { st } = await resumed(ben, {});
    st.send({ type: "message", room_id: room, text: "from the stream", client_id: "s-1" });
    const ack = await st.next();
    expect(ack).toMatchObject({ type: "message", room_id: room, user_id: ben.id, client_id: "s-1", seq: 2 });
    st.send({ type: "message", room_id: room, text: "again", client_id: "s-1" });
    expect(await st.next()).toEqual(ack);
    const other = await group(ann, [cat]);
    st.send({ type: "message", room_id: other, text: "x", client_id: "s-2" });
    expect(await st.next()).toMatchObject({ error: { code: "room_not_found" }, client_id: "s-2" });
    st.send({ type: "message", room_id: room, text: "   ", client_id: "s-3" });
    expect(await st.next()).toMatchObject({ error: { code: "invalid_text" }, client_id: "s-3" });
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: ann.session });
    expect(history.body.map((m: any) => m.text)).toEqual(["from the stream"]);
    await st.close();
  });

  test("typing goes both ways between streams and room sockets, never back to its sender", async () => {
    const room = await group(ann, [ben, cat]);
    const { st: benStream } = await resumed(ben, {});
    const { st: catStream } = await resumed(cat, {});
    const annSock = await Socket.open(chatUrl(s, room, ann, { events: "typing" }));
    benStream.send({ type: "typing", room_id: room });
    const typing = { type: "typing", room_id: room, user_id: ben.id };
    expect(await annSock.next()).toEqual(typing);
    expect(await catStream.next()).toEqual(typing);
    annSock.send({ type: "typing" });
    expect(await benStream.next()).toEqual({ type: "typing", room_id: room, user_id: ann.id });
    benStream.send({ type: "typing", room_id: 999999 });
    expect((await benStream.next()).error.code).toBe("room_not_found");
    expect(benStream.inbox).toEqual([]);
    await Promise.all([benStream.close(), catStream.close(), annSock.close()]);
  });

  test("read markers: stored, announced to the room's streams and opted-in sockets, counted in unread", async () => {
    const room = await group(ann, [ben]);
    const annSock = await Socket.open(chatUrl(s, room, ann, { events: "read" }));
    const [first, last] = await sendAll(annSock, ["one", "two"]);
    const unread = async () =>
      (await call(s.url, "GET", "/v1/rooms", { session: ben.session })).body.find((r: any) => r.id === room).unread;
    expect(await unread()).toBe(2);
    const { st } = await resumed(ben, {});
    const other = (await resumed(ben, {})).st; // ben's other device
    const annStream = (await resumed(ann, {})).st;
    st.send({ type: "read", room_id: room, message_id: first.id });
    const receipt = { type: "read", room_id: room, user_id: ben.id, message_id: first.id };
    // The reader's own streams get the room's new unread; the others a receipt without it.
    expect(await st.next()).toEqual({ ...receipt, unread: 1, mentions: 0 });
    expect(await other.next()).toEqual({ ...receipt, unread: 1, mentions: 0 });
    expect(await annStream.next()).toEqual(receipt);
    expect(await annSock.next((f) => f.type === "read")).toEqual(receipt);
    expect(await unread()).toBe(1);
    st.send({ type: "read", room_id: room, message_id: last.id });
    const read = { type: "read", room_id: room, user_id: ben.id, message_id: last.id };
    expect(await annSock.next((f) => f.type === "read")).toEqual(read);
    expect(await annStream.next()).toEqual(read);
    expect(await st.next()).toEqual({ ...read, unread: 0, mentions: 0 });
    expect(await other.next()).toEqual({ ...read, unread: 0, mentions: 0 });
    expect(await unread()).toBe(0);
    st.send({ type: "read", room_id: room, message_id: -1 });
    expect((await st.next()).error.code).toBe("invalid_json");
    st.send({ type: "read", room_id: 999999, message_id: 1 });
    expect((await st.next()).error.code).toBe("room_not_found");
    await Promise.all([st.close(), other.close(), annStream.close(), annSock.close()]);
  });

  test("logout closes the session's streams with 4001, as its room sockets", async () => {
    const eve = await register(s.url, "eve");
    const { st } = await resumed(eve, {});
    await call(s.url, "POST", "/v1/logout", { session: eve.session, body: {} });
    expect(await st.closed).toEqual({ code: 4001, reason: "logged out" });
  });

  test("after a restart, resuming with the map loses nothing and doubles nothing", async () => {
    const room = await group(ann, [ben]);
    const { st, frames } = await resumed(ben, {});
    const seq = frames.find((f) => f.room_id === room).seq;
    await st.close();
    s = await s.restart();
    const sa = await Socket.open(chatUrl(s, room, ann));
    const sent = await sendAll(sa, ["after the restart"]);
    const again = await resumed(ben, { [room]: seq });
    expect(again.frames.filter((f) => f.room_id === room)).toEqual([sent[0]].map((m) => ({ ...m, type: "message" })));
    await Promise.all([again.st.close(), sa.close()]);
  });
});
