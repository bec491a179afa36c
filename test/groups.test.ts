// Groups over REST: named rooms with an owner, members who come and go, the public directory, and the
// room's order (seq) as REST shows it. Sockets: test/groups-live.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { isMessage, sendAll, Socket, chatUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account, cat: Account, dan: Account, eve: Account;
beforeAll(async () => {
  s = await startServer({ config: { maxRoomUsers: 4, maxRoomsPerUser: 50 } });
  [ann, ben, cat, dan, eve] = (await Promise.all(
    ["ann", "ben", "cat", "dan", "eve"].map((l) => register(s.url, l)),
  )) as [Account, Account, Account, Account, Account];
});
afterAll(() => s.stop());

const ids = (users: Account[]) => users.map((u) => ({ id: u.id }));
async function group(owner: Account, members: Account[], extra: Record<string, unknown> = {}) {
  const r = await call(s.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { name: "Team", users: ids(members), ...extra },
  });
  expect(r.status).toBe(200);
  return r.body;
}
const get = (who: Account, path: string) => call(s.url, "GET", path, { session: who.session });
const patch = (who: Account, room: number, body: unknown) =>
  call(s.url, "PATCH", `/v1/rooms/${room}`, { session: who.session, body });
const add = (who: Account, room: number, users: unknown[]) =>
  call(s.url, "POST", `/v1/rooms/${room}/users`, { session: who.session, body: { users } });
const remove = (who: Account, room: number, user: number | string) =>
  call(s.url, "DELETE", `/v1/rooms/${room}/users/${user}`, { session: who.session });
const join = (who: Account, room: number) => call(s.url, "POST", `/v1/rooms/${room}/join`, { session: who.session });

describe("creating a group", () => {
  test("with a name: a group owned by its creator, listed first, never de-duplicated", async () => {
    const a = await group(ann, [ben], { topic: "plans", public: true });
    expect(a).toEqual({
      id: expect.any(Number),
      users: [
        { id: ann.id, login: "ann" },
        { id: ben.id, login: "ben" },
      ],
      name: "Team",
      topic: "plans",
      kind: "group",
      public: true,
      owner_id: ann.id,
      seq: 1,
      retention: null,
    });
    const b = await group(ann, [ben]);
    expect(b.id).not.toBe(a.id);
    expect(b).toMatchObject({ topic: null, public: false, kind: "group" });
    // The direct room of the same member set is still its own, the seed's.
    const direct = await createRoom(s.url, ann, [ben]);
    expect([a.id, b.id]).not.toContain(direct);
    expect((await get(ben, `/v1/rooms/${direct}`)).body).toMatchObject({ kind: "direct", name: null, owner_id: null });
  });

  test.each([
    ["an empty name", { name: "" }, "invalid_name"],
    ["a blank name", { name: " \u200b " }, "invalid_name"],
    ["a name with a control character", { name: "a\nb" }, "invalid_name"],
    ["a name of 101 characters", { name: "x".repeat(101) }, "invalid_name"],
    ["a name that is not a string", { name: 5 }, "invalid_name"],
    ["a topic of 1001 characters", { name: "ok", topic: "t".repeat(1001) }, "invalid_topic"],
    ["a topic with a control character", { name: "ok", topic: "a\u0000" }, "invalid_topic"],
    ["a topic that is not a string", { name: "ok", topic: 1 }, "invalid_topic"],
    ["public that is not a boolean", { name: "ok", public: "yes" }, "invalid_json"],
  ])("%s is refused with %s", async (_, body, code) => {
    const r = await call(s.url, "POST", "/v1/rooms", { session: ann.session, body: { users: [], ...body } });
    expectError(r, 422, code);
  });

  test("a name of 100 characters and a multi-line topic are fine; an empty topic is null", async () => {
    const g = await group(ann, [], { name: "é".repeat(100), topic: "line 1\nline 2" });
    expect(g).toMatchObject({ name: "é".repeat(100), topic: "line 1\nline 2" });
    expect((await patch(ann, g.id, { topic: "" })).body.topic).toBeNull();
  });

  test("more members than --max-room-users is too_many_users, for groups and direct rooms", async () => {
    for (const name of ["Big", undefined]) {
      const r = await call(s.url, "POST", "/v1/rooms", {
        session: ann.session,
        body: { name, users: ids([ben, cat, dan, eve]) },
      });
      expectError(r, 422, "too_many_users");
      expect(r.body.error.message).toContain("4");
    }
  });
});

describe("changing a group", () => {
  test("the owner renames it and changes topic and visibility; each change is the room's next seq", async () => {
    const g = await group(ann, [ben]);
    const r = await patch(ann, g.id, { name: "Renamed", topic: "t", public: true });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: g.id, name: "Renamed", topic: "t", public: true, seq: 2 });
    // Nothing changes: no new seq.
    expect((await patch(ann, g.id, { name: "Renamed" })).body.seq).toBe(2);
    expect((await get(ben, `/v1/rooms/${g.id}`)).body).toMatchObject({ name: "Renamed", seq: 2 });
  });

  test("another member gets 403 forbidden, a non-member room_not_found, a direct room not_a_group", async () => {
    const g = await group(ann, [ben]);
    expectError(await patch(ben, g.id, { name: "mine" }), 403, "forbidden");
    expectError(await patch(cat, g.id, { name: "mine" }), 422, "room_not_found");
    expectError(await patch(ann, 999999, { name: "x" }), 422, "room_not_found");
    const direct = await createRoom(s.url, ann, [cat]);
    expectError(await patch(ann, direct, { name: "x" }), 422, "not_a_group");
    expectError(await patch(ann, g.id, {}), 422, "invalid_json");
    expectError(await patch(ann, g.id, { name: "" }), 422, "invalid_name");
  });
});

describe("members", () => {
  test("any member adds people by id or login; new members read the whole history, with nothing unread", async () => {
    const g = await group(ann, [ben]);
    const sock = await Socket.open(chatUrl(s, g.id, ann));
    const sent = await sendAll(sock, ["before cat", "and more"]);
    await sock.close();
    const r = await add(ben, g.id, [{ login: "CAT" }, { id: ann.id }]);
    expect(r.status).toBe(200);
    expect(r.body.users.map((u: any) => u.login)).toEqual(["ben", "ann", "cat"]);
    const history = await get(cat, `/v1/rooms/${g.id}/messages`);
    expect(history.body.map((m: any) => m.text)).toEqual(["before cat", "and more"]);
    expect(history.body.map((m: any) => m.seq)).toEqual(sent.map((m) => m.seq));
    const mine = (await get(cat, "/v1/rooms")).body.find((x: any) => x.id === g.id);
    expect(mine).toMatchObject({ unread: 0, name: "Team", seq: r.body.seq });
    // Adding members already there changes nothing.
    expect((await add(ann, g.id, [{ id: cat.id }])).body.seq).toBe(r.body.seq);
  });

  test("adding: unknown users, non-members, direct rooms, the member cap and the rooms cap", async () => {
    const g = await group(ann, [ben]);
    expectError(await add(ann, g.id, [{ login: "nobody here" }]), 422, "user_not_found");
    expectError(await add(ann, g.id, [{ id: 999999 }]), 422, "user_not_found");
    expectError(await add(ann, g.id, [{ nope: 1 }]), 422, "invalid_json");
    expectError(await add(cat, g.id, [{ id: cat.id }]), 422, "room_not_found");
    expectError(await add(ann, await createRoom(s.url, ann, [dan]), [{ id: cat.id }]), 422, "not_a_group");
    expectError(await add(ann, g.id, ids([cat, dan, eve])), 422, "too_many_users");
    expect((await add(ann, g.id, ids([cat, dan]))).body.users).toHaveLength(4);
  });

  test("a member leaves (200 {}), and the room is gone for them everywhere", async () => {
    const g = await group(ann, [ben, cat]);
    const r = await remove(cat, g.id, cat.id);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({});
    expectError(await get(cat, `/v1/rooms/${g.id}`), 422, "room_not_found");
    expectError(await get(cat, `/v1/rooms/${g.id}/messages`), 422, "room_not_found");
    expect((await get(cat, "/v1/rooms")).body.map((x: any) => x.id)).not.toContain(g.id);
    expectError(await remove(cat, g.id, cat.id), 422, "room_not_found");
    expect((await get(ann, `/v1/rooms/${g.id}`)).body.users.map((u: any) => u.id)).toEqual([ann.id, ben.id]);
  });

  test("the owner removes others (200, the room); others may not (403); a non-member is user_not_found", async () => {
    const g = await group(ann, [ben, cat]);
    expectError(await remove(ben, g.id, cat.id), 403, "forbidden");
    const r = await remove(ann, g.id, cat.id);
    expect(r.status).toBe(200);
    expect(r.body.users.map((u: any) => u.id)).toEqual([ann.id, ben.id]);
    expectError(await remove(ann, g.id, cat.id), 422, "user_not_found");
    expectError(await remove(ann, g.id, "abc"), 422, "user_not_found");
    const direct = await createRoom(s.url, ann, [eve]);
    expectError(await remove(ann, direct, eve.id), 422, "not_a_group");
    expectError(await remove(ann, direct, ann.id), 422, "not_a_group");
  });

  test("the owner leaving passes ownership to the longest-standing member; the last one out archives it", async () => {
    const g = await group(ann, [ben, cat], { public: true });
    await remove(ben, g.id, ben.id);
    await add(cat, g.id, [{ id: ben.id }]); // ben is now the newest member
    await remove(ann, g.id, ann.id);
    const after = (await get(cat, `/v1/rooms/${g.id}`)).body;
    expect(after.owner_id).toBe(cat.id);
    expect((await patch(cat, g.id, { name: "cat's" })).status).toBe(200);
    await remove(cat, g.id, cat.id);
    expect((await get(ben, `/v1/rooms/${g.id}`)).body.owner_id).toBe(ben.id);
    await remove(ben, g.id, ben.id);
    // Archived: listed nowhere, joined by nobody.
    const dir = await get(dan, "/v1/rooms/public?limit=200");
    expect(dir.body.map((x: any) => x.id)).not.toContain(g.id);
    expectError(await join(dan, g.id), 422, "room_not_found");
  });
});

describe("public groups", () => {
  test("the directory lists public groups, newest first, to everyone; q matches the folded name", async () => {
    const one = await group(dan, [], { name: "Café Lovers", topic: "☕", public: true });
    const two = await group(dan, [eve], { name: "CAFÉ owners", public: true });
    await group(dan, [], { name: "Café secret" });
    const r = await get(ann, `/v1/rooms/public?q=${encodeURIComponent("café")}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      { id: two.id, name: "CAFÉ owners", topic: null, member_count: 2 },
      { id: one.id, name: "Café Lovers", topic: "☕", member_count: 1 },
    ]);
    const page = await get(ann, `/v1/rooms/public?q=caf&limit=1`);
    expect(page.body.map((x: any) => x.id)).toEqual([two.id]);
    const next = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")![1]!;
    const rest = await get(ann, next);
    expect(rest.body.map((x: any) => x.id)).toEqual([one.id]);
    expect(rest.headers.get("link")).toBeNull();
    for (const q of ["limit=0", "limit=201", "before=x", "before=-1"]) {
      expectError(await get(ann, `/v1/rooms/public?${q}`), 422, "invalid_query");
    }
    expectError(await call(s.url, "GET", "/v1/rooms/public"), 401, "unauthorized");
  });

  test("anyone joins a public group; a private group or a direct room answers room_not_found", async () => {
    const open = await group(dan, [], { name: "Open", public: true });
    const r = await join(ann, open.id);
    expect(r.status).toBe(200);
    expect(r.body.users.map((u: any) => u.id)).toEqual([ann.id, dan.id]);
    expect((await join(ann, open.id)).body.seq).toBe(r.body.seq); // already in: nothing changes
    const closed = await group(dan, [], { name: "Closed" });
    expectError(await join(ann, closed.id), 422, "room_not_found");
    expectError(await join(ann, await createRoom(s.url, dan, [eve])), 422, "room_not_found");
    expectError(await join(ann, 999999), 422, "room_not_found");
  });
});

describe("the room's order over REST", () => {
  test("messages and changes share one seq per room: 1 is the creation, then each message and change", async () => {
    const g = await group(ann, [ben]);
    const sock = await Socket.open(chatUrl(s, g.id, ann));
    const [m1] = await sendAll(sock, ["one"]);
    await patch(ann, g.id, { topic: "now" });
    const [m2] = await sendAll(sock, ["two"]);
    await sock.close();
    expect([m1.seq, m2.seq]).toEqual([2, 4]);
    const history = (await get(ben, `/v1/rooms/${g.id}/messages`)).body;
    expect(history.map((m: any) => [m.text, m.seq])).toEqual([
      ["one", 2],
      ["two", 4],
    ]);
    expect((await get(ben, `/v1/rooms/${g.id}`)).body.seq).toBe(4);
    const listed = (await get(ben, "/v1/rooms")).body.find((x: any) => x.id === g.id);
    expect(listed).toMatchObject({ seq: 4, last_message: { text: "two", seq: 4 } });
    expect(isMessage(m2)).toBe(true);
  });
});
