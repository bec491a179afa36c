import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

let s: TestServer;
let alice: Account, bob: Account;
let room: number;
let sent: any[]; // 70 stored messages, oldest first

beforeAll(async () => {
  s = await startServer();
  alice = await register(s.url, "alice");
  bob = await register(s.url, "bob");
  room = await createRoom(s.url, alice, [bob]);
  const a = await Socket.open(chatUrl(s, room, alice));
  sent = await sendAll(
    a,
    Array.from({ length: 70 }, (_, i) => `message ${i}`),
  );
  await a.close();
});
afterAll(() => s.stop());

const page = async (query: string, who = bob) =>
  call(s.url, "GET", `/v1/rooms/${room}/messages${query}`, { session: who.session });
const texts = (ms: any[]) => ms.map((m) => m.text);

describe("message history", () => {
  test("by default the latest 50, oldest first, in the message shape", async () => {
    const r = await page("");
    expect(r.status).toBe(200);
    expect(texts(r.body)).toEqual(texts(sent.slice(20)));
    const m = r.body[0];
    expect(Object.keys(m).sort()).toEqual(["client_id", "created_at", "id", "room_id", "seq", "text", "user_id"]);
    expect(m).toMatchObject({ room_id: room, user_id: alice.id, text: "message 20" });
    expect(m.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(m.created_at) - Date.now())).toBeLessThan(60_000);
  });

  test("ids increase with storage order", async () => {
    const ids = sent.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(70);
  });

  test("before pages walk back with no gap and no overlap", async () => {
    const latest = (await page("")).body;
    const older = (await page(`?before=${latest[0].id}`)).body;
    expect(texts([...older, ...latest])).toEqual(texts(sent));
    expect((await page(`?before=${sent[0].id}`)).body).toEqual([]);
  });

  test("after pages walk forward from 0 with no gap and no overlap", async () => {
    const first = (await page("?after=0&limit=30")).body;
    const second = (await page(`?after=${first.at(-1).id}&limit=30`)).body;
    const third = (await page(`?after=${second.at(-1).id}&limit=30`)).body;
    expect(third.length).toBe(10);
    expect(texts([...first, ...second, ...third])).toEqual(texts(sent));
    expect((await page(`?after=${sent.at(-1).id}`)).body).toEqual([]);
  });

  test("limit takes 1 to 200", async () => {
    expect((await page("?limit=1")).body.map((m: any) => m.id)).toEqual([sent.at(-1).id]);
    expect((await page("?limit=200")).body.length).toBe(70);
    expect((await page(`?before=${sent[10].id}&limit=3`)).body.map((m: any) => m.text)).toEqual([
      "message 7",
      "message 8",
      "message 9",
    ]);
  });

  test("a cursor is only a position: a missing or foreign id works", async () => {
    expect((await page("?before=999999999")).body.length).toBe(50);
    expect((await page("?after=999999999")).body).toEqual([]);
  });

  test.each([
    ["before and after together", "?before=10&after=1"],
    ["a negative cursor", "?before=-1"],
    ["a non-integer cursor", "?after=abc"],
    ["a fractional cursor", "?after=1.5"],
    ["limit 0", "?limit=0"],
    ["limit 201", "?limit=201"],
    ["a word for limit", "?limit=ten"],
    ["an empty limit", "?limit="],
  ])("%s is invalid_query", async (_, query) => {
    expectError(await page(query), 422, "invalid_query");
  });

  test("a room without messages has an empty history", async () => {
    const carol = await register(s.url, "carol");
    const empty = await createRoom(s.url, carol, []);
    expect((await call(s.url, "GET", `/v1/rooms/${empty}/messages`, { session: carol.session })).body).toEqual([]);
  });

  test("GET /v1/rooms shows the last message and orders rooms by latest activity", async () => {
    const carol = await register(s.url, "carol2");
    const quiet = await createRoom(s.url, bob, [carol]); // created after `room`, no messages yet
    let rooms = (await call(s.url, "GET", "/v1/rooms", { session: bob.session })).body;
    expect(rooms.map((r: any) => r.id)).toEqual([quiet, room]); // a newer room beats older messages
    s.clock.advance(1000); // activity is ordered by time: let a second pass
    const c = await Socket.open(chatUrl(s, room, bob));
    await sendAll(c, ["newest"]);
    await c.close();
    rooms = (await call(s.url, "GET", "/v1/rooms", { session: bob.session })).body;
    expect(rooms.map((r: any) => r.id)).toEqual([room, quiet]);
    expect(rooms[0].last_message).toMatchObject({ text: "newest", user_id: bob.id, room_id: room });
  });
});

describe("restart", () => {
  test("data written before a restart is there after it", async () => {
    const t = await startServer();
    const u = await register(t.url, "Ёжик");
    const v = await register(t.url, "dora");
    const r = await createRoom(t.url, u, [v]);
    const sock = await Socket.open(chatUrl(t, r, u));
    const acks = await sendAll(sock, ["before restart 1", "before restart 2"]);
    await sock.close();
    const t2 = await t.restart();
    try {
      expect((await call(t2.url, "GET", "/v1/info", { session: u.session })).body).toEqual({
        id: u.id,
        login: "Ёжик",
        admin: false,
      });
      const login = await call(t2.url, "POST", "/v1/login", { body: { login: "ёЖИК", password: "password123" } });
      expect(login.status).toBe(200);
      const history = await call(t2.url, "GET", `/v1/rooms/${r}/messages`, { session: v.session });
      expect(history.body.map((m: any) => m.id)).toEqual(acks.map((m) => m.id));
      expect((await call(t2.url, "GET", `/v1/rooms/${r}`, { session: v.session })).status).toBe(200);
    } finally {
      await t2.stop();
    }
  });
});

describe("texts and client_ids", () => {
  test("a burst of messages keeps every character of each text and client_id, with or without one", async () => {
    const texts = ["hi", "é 漢字 🙂", 'quote " \\ \n\u0000 end', "x".repeat(3900), " padded ", "🙂".repeat(10)];
    const frames: { text: string; client_id?: string }[] = texts.flatMap((text, i) => [
      { text, client_id: `0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5${i}` },
      { text: `${text} (no client_id)` },
      { text: `${text} (unicode client_id)`, client_id: `ключ-🙂-${i}` },
    ]);
    frames.push({ text: "an empty client_id is a client_id too", client_id: "" });
    const a = await Socket.open(chatUrl(s, room, alice));
    for (const f of frames) a.send(f); // one turn of the event loop: they share commit batches
    const acks = await a.take(frames.length, (f) => typeof f.id === "number");
    await a.close();
    const expected = frames.map((f) => ({ text: f.text, client_id: f.client_id }));
    expect(acks.map((m) => ({ text: m.text, client_id: m.client_id }))).toEqual(expected);
    const stored = await page(`?after=${acks[0].id - 1}&limit=${frames.length}`);
    expect(stored.body.map((m: any) => ({ text: m.text, client_id: m.client_id }))).toEqual(expected);
  });
});
