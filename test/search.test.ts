// GET /v1/search on either store (ECHAT_TEST_STORE): words, prefixes, phrases, any script, case and
// diacritics, both orders with their cursors, highlights in UTF-16 units, membership and every refusal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, EchatClient } from "../client/index.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { type Account, call, createRoom, expectError, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account, cat: Account;
let room: number; // ann and ben
let other: number; // ann and cat
const sent = new Map<string, any>(); // text -> message

const TEXTS = [
  "Programming in TypeScript is fun",
  "The program crashed again",
  "progress report: all green",
  "Привет, мир! Проверка поиска",
  "ПРИВЕТ всем, кто читает",
  "Crème brûlée at the café",
  "CREME BRULEE is a dessert",
  "naïve façade, Ångström and Łódź",
  "😀😀 hello world",
  "world hello, said nobody",
  "hello there, wide world",
  "e-mail me at the office",
];

async function send(who: Account, to: number, texts: string[]) {
  const sock = await Socket.open(chatUrl(s, to, who));
  for (const m of await sendAll(sock, texts)) sent.set(m.text, m);
  await sock.close();
}

beforeAll(async () => {
  s = await startServer();
  [ann, ben, cat] = await registerAll(s.url, ["ann", "ben", "cat"]);
  room = await createRoom(s.url, ann, [ben]);
  other = await createRoom(s.url, ann, [cat]);
  await send(ann, room, TEXTS);
  await send(cat, other, ["hello from the other room", "a secret plan for cat"]);
});
afterAll(() => s.stop());

const search = (who: Account, query: Record<string, string | number>) =>
  call(s.url, "GET", `/v1/search?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`, {
    session: who.session,
  });
const found = async (who: Account, q: string, extra: Record<string, string | number> = {}) => {
  const r = await search(who, { q, ...extra });
  expect(r.status).toBe(200);
  return r.body.results.map((x: any) => x.message.text);
};
// The texts of TEXTS that should match, newest first (they were sent in order).
const newestFirst = (...texts: string[]) => [...texts].sort((a, b) => sent.get(b).id - sent.get(a).id);

describe("what a query finds", () => {
  test("every word must match, in any case, newest first, in the result shape", async () => {
    const r = await search(ben, { q: "HELLO world" });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(["next", "results"]);
    expect(r.body.next).toBeNull();
    expect(r.body.results.map((x: any) => x.message.text)).toEqual(
      newestFirst("😀😀 hello world", "world hello, said nobody", "hello there, wide world"),
    );
    const first = r.body.results[0];
    expect(Object.keys(first).sort()).toEqual(["highlights", "message"]);
    expect(first.message).toEqual(sent.get("hello there, wide world"));
  });

  test("a prefix matches the words that start with it", async () => {
    expect(await found(ben, "prog*")).toEqual(
      newestFirst("Programming in TypeScript is fun", "The program crashed again", "progress report: all green"),
    );
    expect(await found(ben, "progr* green")).toEqual(["progress report: all green"]);
    expect(await found(ben, "prog")).toEqual([]);
  });

  test("a phrase matches its words next to each other, in order", async () => {
    expect(await found(ben, '"hello world"')).toEqual(["😀😀 hello world"]);
    expect(await found(ben, '"world hello"')).toEqual(["world hello, said nobody"]);
    expect(await found(ben, '"wide wor*"')).toEqual(["hello there, wide world"]);
    expect(await found(ben, "e-mail")).toEqual(["e-mail me at the office"]);
    expect(await found(ben, '"hello there" "wide world"')).toEqual(["hello there, wide world"]);
  });

  test("Cyrillic words, in any case", async () => {
    expect(await found(ben, "привет")).toEqual(newestFirst("Привет, мир! Проверка поиска", "ПРИВЕТ всем, кто читает"));
    expect(await found(ben, "МИР")).toEqual(["Привет, мир! Проверка поиска"]);
    expect(await found(ben, "пров*")).toEqual(["Привет, мир! Проверка поиска"]);
  });

  test("diacritics do not matter, on either side", async () => {
    const both = newestFirst("Crème brûlée at the café", "CREME BRULEE is a dessert");
    expect(await found(ben, "creme brulee")).toEqual(both);
    expect(await found(ben, "crème BRÛLÉE")).toEqual(both);
    expect(await found(ben, "cafe")).toEqual(["Crème brûlée at the café"]);
    expect(await found(ben, "naive facade angstrom")).toEqual(["naïve façade, Ångström and Łódź"]);
  });

  test("words that match nowhere find nothing", async () => {
    expect(await found(ben, "hello zebra")).toEqual([]);
  });
});

describe("highlights", () => {
  const marks = async (q: string, text: string) => {
    const r = await search(ben, { q });
    const hit = r.body.results.find((x: any) => x.message.text === text);
    return hit.highlights.map(([a, b]: [number, number]) => text.slice(a, b));
  };

  test("are [start, end) in UTF-16 units, after astral characters too", async () => {
    const r = await search(ben, { q: "hello world" });
    const emoji = r.body.results.find((x: any) => x.message.text.startsWith("😀"));
    expect(emoji.highlights).toEqual([
      [5, 10],
      [11, 16],
    ]);
  });

  test("mark the words a term, a prefix or a phrase matched, as written", async () => {
    expect(await marks("prog*", "Programming in TypeScript is fun")).toEqual(["Programming"]);
    expect(await marks("creme cafe", "Crème brûlée at the café")).toEqual(["Crème", "café"]);
    expect(await marks('"hello there"', "hello there, wide world")).toEqual(["hello", "there"]);
    expect(await marks("привет", "ПРИВЕТ всем, кто читает")).toEqual(["ПРИВЕТ"]);
    expect(await marks("e-mail", "e-mail me at the office")).toEqual(["e", "mail"]);
  });

  test("a phrase marks only where its words stand together", async () => {
    await send(ben, room, ["globe of sunny, then sunny globe"]);
    const r = await search(ben, { q: '"sunny globe"' });
    expect(r.body.results[0].message.text).toBe("globe of sunny, then sunny globe");
    expect(r.body.results[0].highlights).toEqual([
      [21, 26],
      [27, 32],
    ]);
  });
});

describe("order and pages", () => {
  test("newest first, in pages linked by next", async () => {
    const all = await found(ben, "hello");
    expect(all.length).toBe(3);
    const first = await search(ben, { q: "hello", limit: 2 });
    expect(first.body.results.map((x: any) => x.message.text)).toEqual(all.slice(0, 2));
    expect(first.body.next).toBe(String(first.body.results[1].message.id));
    const second = await search(ben, { q: "hello", limit: 2, before: first.body.next });
    expect(second.body.results.map((x: any) => x.message.text)).toEqual(all.slice(2));
    expect(second.body.next).toBeNull();
  });

  test("order=rank puts the best match first and pages by its cursor", async () => {
    const texts = ["kiwi mango papaya guava lime", "kiwi kiwi kiwi kiwi", "kiwi mango", "the kiwi"];
    await send(ben, room, texts);
    const all = await found(ben, "kiwi", { order: "rank" });
    expect(all.length).toBe(4);
    expect(all[0]).toBe("kiwi kiwi kiwi kiwi");
    expect(all.at(-1)).toBe("kiwi mango papaya guava lime");
    const pages: string[] = [];
    let before: string | null | undefined;
    do {
      const r = await search(ben, { q: "kiwi", order: "rank", limit: 1, ...(before ? { before } : {}) });
      expect(r.status).toBe(200);
      pages.push(...r.body.results.map((x: any) => x.message.text));
      before = r.body.next;
      if (before !== null) expect(before).toMatch(/^\d+_-?[\d.e+-]+_\d+$/);
    } while (before !== null);
    expect(pages).toEqual(all);
  });

  test("limit defaults to 20 and stops at 100", async () => {
    await send(
      ben,
      room,
      Array.from({ length: 25 }, (_, i) => `zucchini number ${i}`),
    );
    const r = await search(ben, { q: "zucchini" });
    expect(r.body.results.length).toBe(20);
    expect(r.body.next).not.toBeNull();
    expect((await search(ben, { q: "zucchini", limit: 100 })).body.results.length).toBe(25);
    expectError(await search(ben, { q: "zucchini", limit: 101 }), 422, "invalid_query");
  });
});

describe("a search reads a bounded window of matches (--search-scan)", () => {
  // Five matches in a room ben is not in, newer than his two: each call reads at most 3 matches of any room.
  let t: TestServer;
  let dee: Account, eve: Account;
  const sendTo = async (who: Account, to: number, texts: string[]) => {
    const sock = await Socket.open(chatUrl(t, to, who));
    const out = await sendAll(sock, texts);
    await sock.close();
    return out;
  };
  beforeAll(async () => {
    t = await startServer({ config: { searchScan: 3 } });
    [dee, eve] = await registerAll(t.url, ["dee", "eve"]);
    const [mine, theirs] = [await createRoom(t.url, dee, [eve]), await createRoom(t.url, eve, [])];
    await sendTo(dee, mine, ["walrus one", "walrus walrus two"]);
    await sendTo(eve, theirs, ["walrus", "walrus", "walrus", "walrus", "walrus"]);
  });
  afterAll(() => t.stop());
  const page = (query: Record<string, string>) =>
    call(t.url, "GET", `/v1/search?${new URLSearchParams({ q: "walrus", ...query })}`, { session: dee.session });

  test("a page may come back short, even empty, with a next that goes on below the window", async () => {
    const texts: string[] = [];
    const pages: number[] = [];
    let before: string | null = null;
    do {
      const r = await page(before ? { before } : {});
      expect(r.status).toBe(200);
      pages.push(r.body.results.length);
      texts.push(...r.body.results.map((x: any) => x.message.text));
      before = r.body.next;
    } while (before !== null);
    expect(texts).toEqual(["walrus walrus two", "walrus one"]);
    // Windows of 3 of the 7 matches: eve's newest 3; her other 2 and "two"; "one", the last (next null).
    expect(pages).toEqual([0, 1, 1]);
  });

  test("order=rank ranks within each window, window after window", async () => {
    const texts: string[] = [];
    let before: string | null = null;
    do {
      const r = await page({ order: "rank", limit: "1", ...(before ? { before } : {}) });
      texts.push(...r.body.results.map((x: any) => x.message.text));
      before = r.body.next;
    } while (before !== null);
    expect(texts).toEqual(["walrus walrus two", "walrus one"]);
  });
});

describe("whose messages", () => {
  test("only rooms the caller is a member of", async () => {
    expect(await found(ben, "hello")).not.toContain("hello from the other room");
    expect(await found(cat, "hello")).toEqual(["hello from the other room"]);
    expect(await found(ann, "secret")).toEqual(["a secret plan for cat"]);
  });

  test("room_id keeps to one room; another's room is room_not_found", async () => {
    expect(await found(ann, "hello", { room_id: other })).toEqual(["hello from the other room"]);
    expect((await found(ann, "hello", { room_id: room })).length).toBe(3);
    expectError(await search(ben, { q: "hello", room_id: other }), 422, "room_not_found");
    expectError(await search(ben, { q: "hello", room_id: 999999 }), 422, "room_not_found");
    expectError(await search(ben, { q: "hello", room_id: "x" }), 422, "room_not_found");
  });

  test("a removed member finds nothing of that room any more", async () => {
    const r = await call(s.url, "POST", "/v1/rooms", {
      session: ann.session,
      body: { name: "Crew", users: [{ id: ben.id }] },
    });
    const crew = r.body.id;
    await send(ann, crew, ["rendezvous at dawn"]);
    expect(await found(ben, "rendezvous")).toEqual(["rendezvous at dawn"]);
    const removed = await call(s.url, "DELETE", `/v1/rooms/${crew}/users/${ben.id}`, { session: ann.session });
    expect(removed.status).toBe(200);
    expect(await found(ben, "rendezvous")).toEqual([]);
    expectError(await search(ben, { q: "rendezvous", room_id: crew }), 422, "room_not_found");
    expect(await found(ann, "rendezvous")).toEqual(["rendezvous at dawn"]);
  });
});

describe("refusals", () => {
  test.each([
    ["no q", {}],
    ["an empty q", { q: "" }],
    ["only punctuation", { q: '?! -- "" *' }],
    ["only emoji", { q: "😀 🎉" }],
    ["a q over 500 characters", { q: "a".repeat(501) }],
    ["more than 10 terms", { q: "a b c d e f g h i j k" }],
    ["more than 20 words", { q: `"${"w ".repeat(21)}"` }],
    ["a word over 200 characters", { q: "x".repeat(201) }],
    ["a one-letter prefix", { q: "p*" }],
    ["an unknown order", { q: "hello", order: "oldest" }],
    ["a limit of 0", { q: "hello", limit: 0 }],
    ["a rank cursor with order newest", { q: "hello", before: "-1.5_3" }],
    ["a rank cursor whose rank is no number", { q: "hello", order: "rank", before: "9_x_3" }],
    ["a cursor that is no cursor", { q: "hello", before: "abc" }],
  ])("%s: 422 invalid_query", async (_, query) => {
    expectError(await search(ben, query as Record<string, string>), 422, "invalid_query");
  });

  test("without a session: 401 unauthorized", async () => {
    expectError(await call(s.url, "GET", "/v1/search?q=hello"), 401, "unauthorized");
  });

  test("other methods: 405 method_not_allowed", async () => {
    expectError(await call(s.url, "POST", "/v1/search?q=hello", { session: ben.session }), 405, "method_not_allowed");
  });
});

test("the typed client's search() pages and refuses like the API", async () => {
  const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url, session: ben.session });
  const first = await c.search({ q: "hello", limit: 2 });
  expect(first.results.map((r) => r.message.text)).toEqual((await found(ben, "hello")).slice(0, 2));
  const rest = await c.search({ q: "hello", limit: 2, before: first.next! });
  expect(rest.next).toBeNull();
  const ranked = await c.search({ q: "kiwi", order: "rank", roomId: room, limit: 1 });
  expect(ranked.results[0]!.message.text).toBe("kiwi kiwi kiwi kiwi");
  expect(ranked.results[0]!.highlights.length).toBe(4);
  const e = await c.search({ q: "!!" }).catch((x) => x);
  expect(e).toBeInstanceOf(ApiError);
  expect(e.code).toBe("invalid_query");
});

test("searches are rate limited per user: 429 rate_limited", async () => {
  const t = await startServer({ config: { limits: true, searchesPerMinute: 2 } });
  try {
    const [dee] = await registerAll(t.url, ["dee"]);
    const q = (x: string) => call(t.url, "GET", `/v1/search?q=${x}`, { session: dee.session });
    expect((await q("one")).status).toBe(200);
    expect((await q("two")).status).toBe(200);
    const r = await q("three");
    expectError(r, 429, "rate_limited");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expectError(await q("%21%21"), 422, "invalid_query"); // a bad query is refused before it costs a search
  } finally {
    await t.stop();
  }
});
