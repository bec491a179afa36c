// Groups on the room socket: with events=members, membership and room changes arrive live and are
// replayed on resume in the room's order (after= counts in seq); without it nothing changes; a member
// who leaves or is removed has their room sockets closed with 4003.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";

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
    body: { name: "Live", users: members.map((u) => ({ id: u.id })) },
  });
  return r.body.id;
}
const members = (room: number, who: Account, query: Record<string, string | number> = {}) =>
  Socket.open(chatUrl(s, room, who, { events: "members", ...query }));
const isMembers = (f: any) => f.type === "members";
const isRoom = (f: any) => f.type === "room";
const user = (a: Account) => ({ id: a.id, login: a.login });

describe("events=members", () => {
  test("membership and room changes arrive live, each with the room's next seq", async () => {
    const room = await group(ann, [ben]);
    const sa = await members(room, ann);
    await call(s.url, "POST", `/v1/rooms/${room}/users`, { session: ben.session, body: { users: [{ id: cat.id }] } });
    expect(await sa.next(isMembers)).toEqual({
      type: "members",
      room_id: room,
      seq: 2,
      users: [user(ann), user(ben), user(cat)],
      added: [cat.id],
      removed: [],
      by: ben.id,
    });
    await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: ann.session, body: { topic: "news" } });
    expect(await sa.next(isRoom)).toEqual({
      type: "room",
      room_id: room,
      seq: 3,
      by: ann.id,
      room: {
        id: room,
        users: [user(ann), user(ben), user(cat)],
        name: "Live",
        topic: "news",
        kind: "group",
        public: false,
        owner_id: ann.id,
        seq: 3,
        retention: null,
      },
    });
    const [m] = await sendAll(sa, ["after the changes"]);
    expect(m).toMatchObject({ type: "message", seq: 4 });
    await sa.close();
  });

  test("sockets that did not opt in get no membership frames and stay exactly as before", async () => {
    const room = await group(ann, [ben]);
    const plain = await Socket.open(chatUrl(s, room, ben));
    const typed = await Socket.open(chatUrl(s, room, ben, { events: "typing" }));
    const watcher = await members(room, ann);
    await call(s.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: cat.id }] } });
    await watcher.next(isMembers);
    const [m] = await sendAll(watcher, ["hello"]);
    expect(await plain.next()).toEqual({
      id: m.id,
      text: "hello",
      user_id: ann.id,
      room_id: room,
      created_at: m.created_at,
      seq: m.seq,
      client_id: m.client_id,
    });
    expect((await typed.next()).type).toBe("message");
    expect([...plain.inbox, ...typed.inbox]).toEqual([]);
    await Promise.all([plain.close(), typed.close(), watcher.close()]);
  });

  test("resume with after=<seq> replays messages and changes in the room's order, then live, once each", async () => {
    const room = await group(ann, [ben]);
    const sa = await Socket.open(chatUrl(s, room, ann));
    await sendAll(sa, ["one"]); // seq 2
    await call(s.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: cat.id }] } });
    await sendAll(sa, ["two"]); // seq 4
    await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: ann.session, body: { name: "Renamed" } });
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${cat.id}`, { session: ann.session });
    const sb = await members(room, ben, { after: 0 });
    const replay = await sb.take(6);
    expect(replay.map((f) => [f.type, f.seq])).toEqual([
      ["members", 1],
      ["message", 2],
      ["members", 3],
      ["message", 4],
      ["room", 5],
      ["members", 6],
    ]);
    expect(replay[0]).toMatchObject({ added: [ann.id, ben.id], removed: [], by: ann.id });
    expect(replay[5]).toMatchObject({ added: [], removed: [cat.id], users: [user(ann), user(ben)] });
    // From the middle: exactly what follows seq 3.
    const later = await members(room, ben, { after: 3 });
    expect((await later.take(3)).map((f) => f.seq)).toEqual([4, 5, 6]);
    await sendAll(sa, ["live"]);
    expect(await sb.next()).toMatchObject({ type: "message", text: "live", seq: 7 });
    expect(await later.next()).toMatchObject({ type: "message", text: "live", seq: 7 });
    expect([...sb.inbox, ...later.inbox]).toEqual([]);
    await Promise.all([sa.close(), sb.close(), later.close()]);
  });

  test("a plain socket's after= still counts in message ids and replays messages only", async () => {
    const room = await group(ann, [ben]);
    const sa = await Socket.open(chatUrl(s, room, ann));
    const [one] = await sendAll(sa, ["one"]);
    await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: ann.session, body: { name: "x" } });
    await sendAll(sa, ["two"]);
    const sb = await Socket.open(chatUrl(s, room, ben, { after: one.id - 1 }));
    expect((await sb.take(2)).map((m) => m.text)).toEqual(["one", "two"]);
    expect(sb.inbox).toEqual([]);
    await Promise.all([sa.close(), sb.close()]);
  });

  test("more than 1000 missed frames gives resync; exactly 1000 are replayed", async () => {
    const room = await group(ann, [ben]);
    const sa = await Socket.open(chatUrl(s, room, ann));
    await sendAll(
      sa,
      Array.from({ length: 1000 }, (_, i) => `m${i}`),
    ); // seqs 2..1001
    const full = await members(room, ben, { after: 1 });
    const frames = await full.take(1000);
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 2));
    const gap = await members(room, ben, { after: 0 });
    expect(await gap.next()).toEqual({ type: "resync", room_id: room });
    await Promise.all([sa.close(), full.close(), gap.close()]);
  });

  test("a gap far past the cap (the room's seq says so) is a resync without reading it; live frames follow", async () => {
    const room = await group(ann, [ben]);
    const sa = await Socket.open(chatUrl(s, room, ann));
    await sendAll(
      sa,
      Array.from({ length: 2001 }, (_, i) => `m${i}`),
    ); // seqs 2..2002: more than twice the cap after seq 0
    const far = await members(room, ben, { after: 0 });
    expect(await far.next()).toEqual({ type: "resync", room_id: room });
    await sendAll(sa, ["live"]);
    expect(await far.next()).toMatchObject({ type: "message", text: "live", seq: 2003 });
    await Promise.all([sa.close(), far.close()]);
  });
});

describe("leaving and removal close the member's room sockets with 4003", () => {
  test("a removed member's sockets close with 4003 after the other members hear of it; theirs stay open", async () => {
    const room = await group(ann, [ben, cat]);
    const benPlain = await Socket.open(chatUrl(s, room, ben));
    const benEvents = await members(room, ben);
    const annEvents = await members(room, ann);
    const catPlain = await Socket.open(chatUrl(s, room, cat));
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${ben.id}`, { session: ann.session });
    expect(await benPlain.closed).toEqual({ code: 4003, reason: "removed from room" });
    expect(await benEvents.closed).toEqual({ code: 4003, reason: "removed from room" });
    expect(await annEvents.next(isMembers)).toMatchObject({ removed: [ben.id], by: ann.id });
    const [m] = await sendAll(catPlain, ["still here"]);
    expect((await annEvents.next(isMessage)).id).toBe(m.id);
    // A new socket of the removed member is refused before the upgrade.
    await expect(Socket.open(chatUrl(s, room, ben))).rejects.toThrow();
    await Promise.all([annEvents.close(), catPlain.close()]);
  });

  test("leaving closes the leaver's sockets with 4003 too; a direct room's sockets are never kicked", async () => {
    const room = await group(ann, [ben]);
    const benSock = await Socket.open(chatUrl(s, room, ben));
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${ben.id}`, { session: ben.session });
    expect((await benSock.closed).code).toBe(4003);
    const direct = await createRoom(s.url, ann, [ben]);
    const d = await Socket.open(chatUrl(s, direct, ben));
    const r = await call(s.url, "DELETE", `/v1/rooms/${direct}/users/${ben.id}`, { session: ben.session });
    expect(r.status).toBe(422);
    await sendAll(d, ["still open"]);
    await d.close();
  });
});
