import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, type Reply, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, opensSqliteFile, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";
import { rewindPostgresTo2, rewindSqliteTo2 } from "./support/old-schema.ts";
import { SQLITE_MIGRATIONS } from "../lib/store/sqlite/migrations.ts";

let s: TestServer;
let vasya: Account, petr: Account, masha: Account, outsider: Account;
beforeAll(async () => {
  s = await startServer();
  [vasya, petr, masha, outsider] = (await Promise.all(
    ["Василий", "Петр", "Маша", "outsider"].map((l) => register(s.url, l)),
  )) as [Account, Account, Account, Account];
});
afterAll(() => s.stop());

describe("user search", () => {
  test("matches a case-insensitive substring in any script, with and without the trailing slash", async () => {
    await Promise.all(["Вася", "ВАСЯН", "привасилий", "Васька"].map((l) => register(s.url, l)));
    for (const path of ["/v1/users/?q=", "/v1/users?q="]) {
      const r = await call(s.url, "GET", path + encodeURIComponent("вася"), { session: vasya.session });
      expect(r.status).toBe(200);
      // exact first, then prefix matches, then the rest alphabetically
      expect(r.body.map((u: any) => u.login)).toEqual(["Вася", "ВАСЯН"]);
      expect(Object.keys(r.body[0]).sort()).toEqual(["id", "login"]);
    }
    const r = await call(s.url, "GET", "/v1/users?q=" + encodeURIComponent("ВАС"), { session: vasya.session });
    expect(r.body.map((u: any) => u.login)).toEqual(["Василий", "Васька", "Вася", "ВАСЯН", "привасилий"]);
  });

  test("no q or an empty q gives []", async () => {
    expect((await call(s.url, "GET", "/v1/users", { session: vasya.session })).body).toEqual([]);
    expect((await call(s.url, "GET", "/v1/users/?q=", { session: vasya.session })).body).toEqual([]);
  });

  test("% and _ are literal, and SQL in q is text", async () => {
    await register(s.url, "a_b%c");
    await register(s.url, "axbyc");
    await register(s.url, "%_x");
    const pct = await call(s.url, "GET", "/v1/users?q=" + encodeURIComponent("b%c"), { session: vasya.session });
    expect(pct.body.map((u: any) => u.login)).toEqual(["a_b%c"]);
    const under = await call(s.url, "GET", "/v1/users?q=_b%25", { session: vasya.session });
    expect(under.body.map((u: any) => u.login)).toEqual(["a_b%c"]);
    const short = await call(s.url, "GET", "/v1/users?q=%25", { session: vasya.session }); // a prefix
    expect(short.body.map((u: any) => u.login)).toEqual(["%_x"]);
    const sql = await call(s.url, "GET", "/v1/users?q=" + encodeURIComponent("'); DROP TABLE users;--"), {
      session: vasya.session,
    });
    expect(sql.status).toBe(200);
    expect(sql.body).toEqual([]);
    expect((await call(s.url, "GET", "/v1/info", { session: vasya.session })).status).toBe(200);
  });

  test("returns at most 50 users", async () => {
    await Promise.all(Array.from({ length: 55 }, (_, i) => register(s.url, `many${i}`)));
    const r = await call(s.url, "GET", "/v1/users?q=many", { session: vasya.session });
    expect(r.body.length).toBe(50);
  });
});

describe("rooms", () => {
  test("creating a room lists the caller first and answers 200", async () => {
    const r = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: [{ id: petr.id, login: "Петр" }] },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: expect.any(Number),
      users: [
        { id: vasya.id, login: "Василий" },
        { id: petr.id, login: "Петр" },
      ],
      kind: "direct",
      name: null,
      topic: null,
      public: false,
      owner_id: null,
      seq: 1,
      retention: null,
    });
  });

  test("the same member set gives the same room, whoever creates it and however it is written", async () => {
    const a = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: [{ id: masha.id }, { id: petr.id }] },
    });
    const b = await call(s.url, "POST", "/v1/rooms", {
      session: petr.session,
      body: { users: [{ login: "маша" }, { id: vasya.id }, { id: petr.id }, { id: masha.id }] },
    });
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    expect(b.body.users[0]).toEqual({ id: petr.id, login: "Петр" });
    expect(b.body.users.map((u: any) => u.id).sort()).toEqual([vasya.id, petr.id, masha.id].sort());
    const smaller = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: [{ id: masha.id }] },
    });
    expect(smaller.body.id).not.toBe(a.body.id);
  });

  test("an unknown user, by id or by login, is user_not_found", async () => {
    expectError(
      await call(s.url, "POST", "/v1/rooms", { session: vasya.session, body: { users: [{ id: 999999 }] } }),
      422,
      "user_not_found",
    );
    expectError(
      await call(s.url, "POST", "/v1/rooms", { session: vasya.session, body: { users: [{ login: "ghost" }] } }),
      422,
      "user_not_found",
    );
  });

  test.each([
    ["no users", {}],
    ["users as an object", { users: { id: 1 } }],
    ["users of numbers", { users: [1, 2] }],
    ["a user without id or login", { users: [{ name: "x" }] }],
    ["a string id", { users: [{ id: "2" }] }],
    ["a fractional id", { users: [{ id: 1.5 }] }],
  ])("%s is invalid_json", async (_, body) => {
    expectError(await call(s.url, "POST", "/v1/rooms", { session: vasya.session, body }), 422, "invalid_json");
  });

  test("more than 100 members is too_many_users; exactly 100 is fine", async () => {
    const people = await Promise.all(Array.from({ length: 100 }, (_, i) => register(s.url, `member${i}`)));
    expectError(
      await call(s.url, "POST", "/v1/rooms", {
        session: vasya.session,
        body: { users: people.map((p) => ({ id: p.id })) },
      }),
      422,
      "too_many_users",
    );
    const ok = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: people.slice(1).map((p) => ({ id: p.id })) },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.users.length).toBe(100);
  });

  test("GET /v1/rooms/:id answers members only; other ids are room_not_found", async () => {
    const id = await createRoom(s.url, vasya, [petr]);
    const r = await call(s.url, "GET", `/v1/rooms/${id}`, { session: petr.session });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id,
      users: [
        { id: petr.id, login: "Петр" },
        { id: vasya.id, login: "Василий" },
      ],
      kind: "direct",
      name: null,
      topic: null,
      public: false,
      owner_id: null,
      seq: 1,
      retention: null,
    });
    for (const path of [`/v1/rooms/${id}`, `/v1/rooms/${id}/messages`]) {
      expectError(await call(s.url, "GET", path, { session: outsider.session }), 422, "room_not_found");
    }
    for (const bad of ["0", "-1", "abc", "1.5", "999999", "99999999999999999999", "1e3", "%20"]) {
      expectError(await call(s.url, "GET", `/v1/rooms/${bad}`, { session: vasya.session }), 422, "room_not_found");
      expectError(
        await call(s.url, "GET", `/v1/rooms/${bad}/messages`, { session: vasya.session }),
        422,
        "room_not_found",
      );
    }
  });

  test("GET /v1/rooms lists only the caller's rooms, with last_message null before any message", async () => {
    const lonely = await register(s.url, "lonely");
    expect((await call(s.url, "GET", "/v1/rooms", { session: lonely.session })).body).toEqual([]);
    const id = await createRoom(s.url, lonely, [outsider]);
    const r = await call(s.url, "GET", "/v1/rooms", { session: lonely.session });
    expect(r.body).toEqual([
      {
        id,
        users: [
          { id: lonely.id, login: "lonely" },
          { id: outsider.id, login: "outsider" },
        ],
        kind: "direct",
        name: null,
        topic: null,
        public: false,
        owner_id: null,
        seq: 1,
        retention: null,
        last_message: null,
        unread: 0,
        mentions: 0,
        notify: "all",
      },
    ]);
    const theirs = await call(s.url, "GET", "/v1/rooms", { session: outsider.session });
    expect(theirs.body.map((x: any) => x.id)).toContain(id);
    const mine = await call(s.url, "GET", "/v1/rooms", { session: masha.session });
    expect(mine.body.map((x: any) => x.id)).not.toContain(id);
  });
});

// Member sets for many rooms with one owner: the non-empty subsets of `others`, in a fixed order.
function subsets<T>(others: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let mask = 1; out.length < n; mask++) out.push(others.filter((_, i) => mask & (1 << i)));
  return out;
}

async function roomsPage(t: TestServer, who: Account, query = "") {
  return await call(t.url, "GET", `/v1/rooms${query}`, { session: who.session });
}

// Every page, following Link rel="next"; the ids in order, and how many requests it took.
async function walkRooms(t: TestServer, who: Account, first: string) {
  const ids: number[] = [];
  let pages = 0;
  for (let next: string | null = first; next; pages++) {
    const r: Reply = await call(t.url, "GET", next, { session: who.session });
    expect(r.status).toBe(200);
    ids.push(...r.body.map((x: any) => x.id));
    next = /^<([^>]+)>; rel="next"$/.exec(r.headers.get("link") ?? "")?.[1] ?? null;
  }
  return { ids, pages };
}

describe("room creation limits", () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  test("a user creates a burst of rooms, then one per 3600/rate seconds; over it is 429 rate_limited with Retry-After", async () => {
    t = await startServer({ config: { limits: true, roomBurst: 3, roomRate: 60 } });
    t.clock.freeze();
    const [owner, ...others] = await Promise.all(["owner", "o1", "o2", "o3"].map((l) => register(t!.url, l)));
    const sets = subsets(others, 5);
    const create = (users: Account[], who = owner!) =>
      call(t!.url, "POST", "/v1/rooms", { session: who.session, body: { users: users.map((u) => ({ id: u.id })) } });
    for (const set of sets.slice(0, 3)) expect((await create(set)).status).toBe(200);
    const refused = await create(sets[3]!);
    expectError(refused, 429, "rate_limited");
    expect(refused.headers.get("retry-after")).toBe("60");
    // An existing member set is still answered, and costs nothing.
    const again = await create(sets[0]!);
    expect(again.status).toBe(200);
    expect(again.body.users.map((u: any) => u.id)).toEqual([owner!.id, ...sets[0]!.map((u) => u.id)]);
    // Another user's bucket is their own.
    expect((await create([others[0]!], others[2])).status).toBe(200);
    t.clock.advance(59_900);
    expect((await create(sets[3]!)).headers.get("retry-after")).toBe("1");
    t.clock.advance(1_000);
    expect((await create(sets[3]!)).status).toBe(200);
    expectError(await create(sets[4]!), 429, "rate_limited");
  });

  test("--limits off lifts the creation rate", async () => {
    t = await startServer({ config: { limits: false, roomBurst: 1, roomRate: 1 } });
    t.clock.freeze();
    const [owner, ...others] = await Promise.all(["owner", "o1", "o2", "o3"].map((l) => register(t!.url, l)));
    for (const set of subsets(others, 7)) expect((await createRoomAs(t, owner!, set)).status).toBe(200);
  });

  test("a user is in at most --max-rooms-per-user rooms: a creation that would put any member over is too_many_rooms", async () => {
    t = await startServer({ config: { maxRoomsPerUser: 3, limits: true } });
    const [full, a, b, c, d] = await Promise.all(["full", "a", "b", "c", "d"].map((l) => register(t!.url, l)));
    for (const set of [[a!], [b!], [a!, b!]]) expect((await createRoomAs(t, full!, set)).status).toBe(200);
    const mine = await createRoomAs(t, full!, [c!]);
    expectError(mine, 422, "too_many_rooms");
    expect(mine.body.error.message).toBe("You are already in 3 rooms, the most a user may be in");
    const theirs = await createRoomAs(t, c!, [d!, full!]);
    expectError(theirs, 422, "too_many_rooms");
    expect(theirs.body.error.message).toContain('"full" is already in 3 rooms');
    // The room of an existing member set is still answered, by anyone in it.
    const existing = await createRoomAs(t, b!, [full!, a!]);
    expect(existing.status).toBe(200);
    expect((await roomsPage(t, full!)).body.length).toBe(3);
    // Refusals cost no room creation, and others are not held back.
    expect((await createRoomAs(t, c!, [d!])).status).toBe(200);
    expect((await createRoomAs(t, c!, [a!])).status).toBe(200);
    expectError(await createRoomAs(t, c!, [a!, d!]), 422, "too_many_rooms"); // a is now in 3 rooms
  });
});

function createRoomAs(t: TestServer, owner: Account, others: Account[]) {
  return call(t.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { users: others.map((u) => ({ id: u.id })) },
  });
}

describe("room list paging", () => {
  let t: TestServer;
  let owner: Account, others: Account[];
  let created: number[]; // ids in creation order; all made in the same millisecond
  beforeAll(async () => {
    t = await startServer();
    t.clock.freeze();
    owner = await register(t.url, "pager");
    others = await Promise.all(Array.from({ length: 8 }, (_, i) => register(t.url, `other${i}`)));
    created = [];
    for (const set of subsets(others, 205)) created.push((await createRoomAs(t, owner, set)).body.id);
  });
  afterAll(() => t.stop());

  test("no parameters give a JSON array of the first 100 rooms, with a Link to the next page", async () => {
    const r = await roomsPage(t, owner);
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    expect(r.body.length).toBe(100);
    expect(Object.keys(r.body[0]).sort()).toEqual([
      "id",
      "kind",
      "last_message",
      "mentions",
      "name",
      "notify",
      "owner_id",
      "public",
      "retention",
      "seq",
      "topic",
      "unread",
      "users",
    ]);
    expect(r.headers.get("link")).toMatch(/^<\/v1\/rooms\?limit=100&before=\d+_\d+>; rel="next"$/);
  });

  test("rooms with the same last activity come by id, newest first, and every page walk lists each once", async () => {
    const newestFirst = [...created].reverse();
    for (const limit of [1, 7, 100, 200]) {
      const { ids, pages } = await walkRooms(t, owner, `/v1/rooms?limit=${limit}`);
      expect(ids).toEqual(newestFirst);
      expect(pages).toBe(Math.ceil(205 / limit));
    }
    const max = await roomsPage(t, owner, "?limit=200");
    expect(max.body.length).toBe(200);
    expect((await roomsPage(t, owner, "?limit=205")).status).toBe(422);
  });

  test("a message moves its room to the first page; the last page has no Link", async () => {
    const oldest = created[0]!;
    const sock = await Socket.open(chatUrl(t, oldest, owner));
    t.clock.advance(1000);
    await sendAll(sock, ["wake up"]);
    await sock.close();
    const first = await roomsPage(t, owner, "?limit=2");
    expect(first.body.map((x: any) => x.id)).toEqual([oldest, created.at(-1)]);
    expect(first.body[0].last_message.text).toBe("wake up");
    const { ids } = await walkRooms(t, owner, "/v1/rooms?limit=50");
    expect(ids).toEqual([oldest, ...[...created].reverse().filter((id) => id !== oldest)]);
    const last = await roomsPage(t, owner, "?limit=200&before=1_1");
    expect(last.body).toEqual([]);
    expect(last.headers.get("link")).toBeNull();
    // Other members see the same rooms through their own lists.
    expect((await walkRooms(t, others[0]!, "/v1/rooms?limit=13")).ids.length).toBe(
      subsets(others, 205).filter((set) => set.includes(others[0]!)).length,
    );
  });

  test.each([
    ["limit=0"],
    ["limit=201"],
    ["limit=-1"],
    ["limit=abc"],
    ["limit=1.5"],
    ["limit="],
    ["before="],
    ["before=abc"],
    ["before=12"],
    ["before=12_"],
    ["before=_12"],
    ["before=1_2_3"],
    ["before=-1_2"],
    ["before=99999999999999999_1"],
  ])("?%s is invalid_query", async (q) => {
    expectError(await roomsPage(t, owner, `?${q}`), 422, "invalid_query");
  });
});

// A room of three whose unread counts are checked against a model after every step: unread is the
// number of messages after the viewer's read marker that others sent; a marker never moves back and
// is clamped to the room's newest message.
class UnreadModel {
  markers = new Map<number, number>();
  constructor(
    readonly room: number,
    readonly members: Account[],
  ) {}

  async history(t: TestServer): Promise<any[]> {
    const all: any[] = [];
    for (;;) {
      const after = all.at(-1)?.id ?? 0;
      const page = await call(t.url, "GET", `/v1/rooms/${this.room}/messages?limit=200&after=${after}`, {
        session: this.members[0]!.session,
      });
      all.push(...page.body);
      if (page.body.length < 200) return all;
    }
  }

  async expectCounts(t: TestServer) {
    const history = await this.history(t);
    for (const who of this.members) {
      const marker = this.markers.get(who.id) ?? 0;
      const expected = history.filter((m) => m.id > marker && m.user_id !== who.id).length;
      const { ids } = await walkRooms(t, who, "/v1/rooms?limit=200");
      expect(ids).toContain(this.room);
      const listed = (await roomsPage(t, who, "?limit=200")).body.find((x: any) => x.id === this.room);
      expect({ who: who.login, unread: listed.unread }).toEqual({ who: who.login, unread: expected });
    }
  }

  // Sends a read frame on an events=read socket and waits for the marker it moves to (if it moves).
  async read(t: TestServer, who: Account, messageId: number) {
    const history = await this.history(t);
    const newest = history.at(-1)?.id ?? 0;
    const before = this.markers.get(who.id) ?? 0;
    const after = Math.max(before, Math.min(messageId, newest));
    const sock = await Socket.open(chatUrl(t, this.room, who, { events: "read" }));
    sock.send({ type: "read", message_id: messageId });
    if (after > before) await sock.next((f) => f.type === "read" && f.user_id === who.id && f.message_id === after);
    await sock.close();
    this.markers.set(who.id, after);
  }
}

// Sends texts, some with a client_id and some without, and waits for each ack.
async function send(t: TestServer, room: number, who: Account, texts: string[]) {
  const sock = await Socket.open(chatUrl(t, room, who));
  texts.forEach((text, i) => sock.send(i % 2 ? { text } : { text, client_id: `${text}-id` }));
  const acks = [];
  for (const text of texts) acks.push(await sock.next((f) => isMessage(f) && f.text === text));
  await sock.close();
  return acks;
}

async function unreadScenario(t: TestServer, model: UnreadModel, tag: string) {
  const [a, b, c] = model.members as [Account, Account, Account];
  const fromB = await send(t, model.room, b, [`${tag}b1`, `${tag}b2`, `${tag}b3`]);
  await send(t, model.room, c, [`${tag}c1`, `${tag}c2`]);
  await model.expectCounts(t);
  await model.read(t, a, fromB[1].id); // short of the newest message
  await model.expectCounts(t);
  await send(t, model.room, a, [`${tag}a1`, `${tag}a2`]); // one's own messages never count
  await model.expectCounts(t);
  // Several senders at once: their messages share the writer's batches.
  await Promise.all([
    send(
      t,
      model.room,
      b,
      Array.from({ length: 6 }, (_, i) => `${tag}burst-b${i}`),
    ),
    send(
      t,
      model.room,
      c,
      Array.from({ length: 6 }, (_, i) => `${tag}burst-c${i}`),
    ),
    send(
      t,
      model.room,
      a,
      Array.from({ length: 3 }, (_, i) => `${tag}burst-a${i}`),
    ),
  ]);
  await model.expectCounts(t);
  const history = await model.history(t);
  const ownOfB = history.filter((m) => m.user_id === b.id);
  await model.read(t, b, ownOfB.at(-2)!.id); // past some of b's own messages, short of the newest
  await model.expectCounts(t);
  await model.read(t, a, history.at(-1)!.id + 1000); // past the end: clamped to the newest
  await model.read(t, c, history[3].id);
  await model.expectCounts(t);
  await model.read(t, c, history[1].id); // backwards: stays
  await model.read(t, b, history.at(-1)!.id);
  await model.expectCounts(t);
}

describe("unread counts", () => {
  test("stay exact through messages from oneself and others, reads short of, at and past the newest, and a restart", async () => {
    let t = await startServer();
    try {
      const members = await Promise.all(["ann", "ben", "cat"].map((l) => register(t.url, l)));
      const room = await createRoom(t.url, members[0]!, members.slice(1));
      const pairRoom = await createRoom(t.url, members[0]!, [members[1]!]); // its messages must not count
      await send(t, pairRoom, members[1]!, ["elsewhere"]);
      const model = new UnreadModel(room, members);
      await model.expectCounts(t);
      await unreadScenario(t, model, "first-");
      t = await t.restart();
      await model.expectCounts(t);
      await unreadScenario(t, model, "again-");
      const pair = (await roomsPage(t, members[0]!)).body.find((x: any) => x.id === pairRoom);
      expect(pair.unread).toBe(1);
    } finally {
      await t.stop();
    }
  }, 60_000);

  test("a read marker that does not move writes nothing", async () => {
    const t = await startServer();
    try {
      const [a, b] = await Promise.all(["reader", "writer"].map((l) => register(t.url, l)));
      const room = await createRoom(t.url, a!, [b!]);
      const [m1, m2] = await send(t, room, b!, ["one", "two"]);
      const model = new UnreadModel(room, [a!, b!]);
      await model.read(t, a!, m2.id);
      const probe = await updateProbe(t);
      // At the newest message already: backwards, again and past the end all leave it where it is;
      // then one read that moves it. Markers of one user are applied in order, so once the last one
      // is reported, the three before it have been handled.
      const sock = await Socket.open(chatUrl(t, room, a!, { events: "read" }));
      for (const id of [m1.id, m2.id, m2.id + 50]) sock.send({ type: "read", message_id: id });
      const [m3] = await send(t, room, b!, ["three"]);
      sock.send({ type: "read", message_id: m3.id });
      await sock.next((f) => f.type === "read" && f.user_id === a!.id && f.message_id === m3.id);
      expect(await probe.updatesOf(a!.id)).toBe(1);
      model.markers.set(a!.id, m3.id);
      await model.expectCounts(t);
      await Promise.all([sock.close(), probe.close()]);
    } finally {
      await t.stop();
    }
  });
});

// Counts the UPDATEs of room_members rows, per member, with a trigger the test adds to the database.
async function updateProbe(t: TestServer) {
  if (t.databaseUrl) {
    const sql = new SQL({ url: t.databaseUrl, max: 1 });
    await sql`CREATE TABLE probe_updates (user_id bigint)`;
    await sql.unsafe(`CREATE FUNCTION probe() RETURNS trigger AS $$
      BEGIN INSERT INTO probe_updates VALUES (NEW.user_id); RETURN NEW; END $$ LANGUAGE plpgsql`);
    await sql`CREATE TRIGGER probe AFTER UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION probe()`;
    return {
      updatesOf: async (userId: number) =>
        Number((await sql`SELECT count(*) AS n FROM probe_updates WHERE user_id = ${userId}`)[0].n),
      close: () => sql.close(),
    };
  }
  const db = new Database(t.db);
  db.run("PRAGMA busy_timeout = 5000");
  db.run("CREATE TABLE probe_updates (user_id INTEGER)");
  db.run("CREATE TRIGGER probe AFTER UPDATE ON room_members BEGIN INSERT INTO probe_updates VALUES (NEW.user_id); END");
  const count = db.query<{ n: number }, [number]>("SELECT count(*) AS n FROM probe_updates WHERE user_id = ?");
  return { updatesOf: async (userId: number) => count.get(userId)!.n, close: async () => db.close() };
}

describe("schema migration", () => {
  // A database with rooms, messages and read markers, turned back into version 2 (unread counted per
  // request, no counters), then opened by this echat: the counters are filled from the messages.
  async function migratedCountsMatch(databaseUrl: string | undefined, toVersion2: (t: TestServer) => Promise<void>) {
    const dir = mkdtempSync(join(tmpdir(), "echat-v2-"));
    const config = databaseUrl ? { databaseUrl } : {};
    let t = await startServer({ dir, config });
    try {
      const members = await Promise.all(["old-a", "old-b", "old-c"].map((l) => register(t.url, l)));
      const room = await createRoom(t.url, members[0]!, members.slice(1));
      const model = new UnreadModel(room, members);
      await unreadScenario(t, model, "v2-");
      await send(t, room, members[2]!, ["after the reads"]);
      await model.expectCounts(t);
      await t.stop();
      await toVersion2(t);
      t = await startServer({ dir, config });
      await model.expectCounts(t);
      await unreadScenario(t, model, "v3-");
    } finally {
      await t.stop();
      if (databaseUrl) await dropDatabase(databaseUrl);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test.skipIf(!opensSqliteFile("the schema migration test"))(
    "a version 2 SQLite database gets exact unread counters",
    async () => {
      await migratedCountsMatch(undefined, async (t) => {
        const db = new Database(t.db);
        rewindSqliteTo2(db);
        db.close();
      });
      // A fresh database and a migrated one have the same columns.
      const dir = mkdtempSync(join(tmpdir(), "echat-fresh-"));
      const fresh = await startServer({ dir });
      await fresh.stop();
      const db = new Database(join(dir, "echat.db"), { readonly: true });
      expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SQLITE_MIGRATIONS.version });
      expect(
        db
          .query("SELECT name FROM pragma_table_info('room_members')")
          .all()
          .map((r: any) => r.name),
      ).toEqual(["room_id", "user_id", "position", "last_read_id", "sent", "read_count", "read_sent", "notify"]);
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
    60_000,
  );

  test.skipIf(!needs("postgresql", TEST_DATABASE_URL !== ""))(
    "a version 2 PostgreSQL database gets exact unread counters",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "echat-pg2-"));
      const databaseUrl = await freshDatabase(dir);
      await migratedCountsMatch(databaseUrl, async () => {
        const sql = new SQL({ url: databaseUrl, max: 1 });
        await rewindPostgresTo2(sql);
        await sql.close();
      });
      rmSync(dir, { recursive: true, force: true });
    },
    60_000,
  );
});
