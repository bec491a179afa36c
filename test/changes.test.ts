// Message changes over REST: edit, delete and reactions, every status and code, and what history, room
// lists and unread counts show afterwards. Live frames and resume: test/changes-live.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startWithAdmin } from "./support/admin.ts";
import { type Account, call, createRoom, expectError, register, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";
import { every, waitFor } from "./support/waiting.ts";

let s: TestServer;
let root: Account, ann: Account, ben: Account, cat: Account;
let direct: number; // ann, ben
let team: number; // a group of ann (owner), ben and cat
let sock: Socket; // ann's socket in direct
let teamSock: Socket; // ben's socket in team

beforeAll(async () => {
  ({ s, admin: root } = await startWithAdmin());
  [ann, ben, cat] = await registerAll(s.url, ["ann", "ben", "cat"]);
  direct = await createRoom(s.url, ann, [ben]);
  const g = await call(s.url, "POST", "/v1/rooms", {
    session: ann.session,
    body: { name: "Team", users: [{ id: ben.id }, { id: cat.id }] },
  });
  team = g.body.id;
  sock = await Socket.open(chatUrl(s, direct, ann));
  teamSock = await Socket.open(chatUrl(s, team, ben));
});
afterAll(async () => {
  sock.close();
  teamSock.close();
  await s.stop();
});

const path = (room: number, id: number | string) => `/v1/rooms/${room}/messages/${id}`;
const edit = (who: Account, room: number, id: number | string, body: unknown) =>
  call(s.url, "PATCH", path(room, id), { session: who.session, body });
const del = (who: Account, room: number, id: number | string) =>
  call(s.url, "DELETE", path(room, id), { session: who.session });
const reaction = (method: "PUT" | "DELETE", who: Account, room: number, id: number | string, emoji: string) =>
  call(s.url, method, `${path(room, id)}/reactions/${encodeURIComponent(emoji)}`, { session: who.session });
const history = async (who: Account, room: number) =>
  (await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: who.session })).body as any[];
const roomOf = async (who: Account, room: number) =>
  ((await call(s.url, "GET", "/v1/rooms", { session: who.session })).body as any[]).find((r) => r.id === room);
const send = async (socket: Socket, text: string) => (await sendAll(socket, [text]))[0];

describe("editing a message", () => {
  test("the author changes the text: 200 with edited_at, and history shows the new text", async () => {
    const m = await send(sock, "helo");
    const r = await edit(ann, direct, m.id, { text: "hello" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ...m, text: "hello", edited_at: expect.any(String) });
    expect((await history(ben, direct)).find((x) => x.id === m.id)).toEqual(r.body);
  });

  test("the same text again answers 200 and changes nothing, edited_at included", async () => {
    const m = await send(sock, "same");
    const first = await edit(ann, direct, m.id, { text: "same" });
    expect(first.body).toEqual(m);
    const r = await edit(ann, direct, m.id, { text: "twice" });
    s.clock.advance(5000);
    const again = await edit(ann, direct, m.id, { text: "twice" });
    expect(again.body).toEqual(r.body);
  });

  test("mentions are found anew over the room's members", async () => {
    const m = await send(teamSock, "hi all");
    expect(m.mentions).toBeUndefined();
    const r = await edit(ben, team, m.id, { text: "hi @cat and @ANN!" });
    expect(r.body.mentions).toEqual([cat.id, ann.id]);
    const back = await edit(ben, team, m.id, { text: "hi nobody" });
    expect(back.body.mentions).toBeUndefined();
  });

  test("an edit's mentions count in GET /v1/rooms while unread; a delete takes them back", async () => {
    const mentions = async () => (await roomOf(cat, team)).mentions as number;
    const before = await mentions();
    const m = await send(teamSock, "plain");
    await edit(ben, team, m.id, { text: "now @cat" });
    expect(await mentions()).toBe(before + 1);
    await edit(ben, team, m.id, { text: "not any more" });
    expect(await mentions()).toBe(before);
    await edit(ben, team, m.id, { text: "@cat again" });
    expect(await mentions()).toBe(before + 1);
    expect((await del(ben, team, m.id)).status).toBe(200);
    expect(await mentions()).toBe(before);
  });

  const cases: [string, () => Promise<any>, number, string][] = [
    [
      "another member's message",
      async () => edit(ben, direct, (await send(sock, "mine")).id, { text: "x" }),
      403,
      "forbidden",
    ],
    ["an unknown id", () => edit(ann, direct, 999999, { text: "x" }), 422, "message_not_found"],
    ["an id that is no number", () => edit(ann, direct, "abc", { text: "x" }), 422, "message_not_found"],
    [
      "a message of another room",
      async () => edit(ben, direct, (await send(teamSock, "t")).id, { text: "x" }),
      422,
      "message_not_found",
    ],
    ["a room the caller is not in", async () => edit(cat, direct, 1, { text: "x" }), 422, "room_not_found"],
    ["an empty text", async () => edit(ann, direct, (await send(sock, "e")).id, { text: " " }), 422, "invalid_text"],
    ["no text", async () => edit(ann, direct, (await send(sock, "n")).id, {}), 422, "invalid_text"],
    ["a body that is no object", async () => edit(ann, direct, (await send(sock, "j")).id, [1]), 422, "invalid_json"],
  ];
  for (const [name, run, status, code] of cases) {
    test(`refused: ${name} (${status} ${code})`, async () => expectError(await run(), status, code));
  }

  test("refused without a session: 401", async () => {
    const r = await call(s.url, "PATCH", path(direct, 1), { body: { text: "x" } });
    expectError(r, 401, "unauthorized");
  });
});

describe("deleting a message", () => {
  test("the author deletes: 200 {}, history and the room list no longer show it, its id is not reused", async () => {
    const [a, b] = await sendAll(sock, ["keep", "drop"]);
    const r = await del(ann, direct, b.id);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({});
    const h = await history(ben, direct);
    expect(h.map((m) => m.id)).not.toContain(b.id);
    expect((await roomOf(ben, direct)).last_message.id).toBe(a.id);
    const next = await send(sock, "after");
    expect(next.id).toBeGreaterThan(b.id);
    expectError(await del(ann, direct, b.id), 422, "message_not_found");
    expectError(await edit(ann, direct, b.id, { text: "back" }), 422, "message_not_found");
    expectError(await reaction("PUT", ben, direct, b.id, "👍"), 422, "message_not_found");
  });

  test("history pages skip deleted messages (before and after)", async () => {
    const ms = await sendAll(sock, ["p1", "p2", "p3"]);
    await del(ann, direct, ms[1].id);
    const after = await call(s.url, "GET", `/v1/rooms/${direct}/messages?after=${ms[0].id - 1}`, {
      session: ann.session,
    });
    expect(after.body.map((m: any) => m.text)).toEqual(expect.arrayContaining(["p1", "p3"]));
    expect(after.body.map((m: any) => m.text)).not.toContain("p2");
    const before = await call(s.url, "GET", `/v1/rooms/${direct}/messages?before=${ms[2].id}&limit=1`, {
      session: ann.session,
    });
    expect(before.body.map((m: any) => m.text)).toEqual(["p1"]);
  });

  test("unread counts drop for a deleted unread message, and stay right for one already read", async () => {
    const before = (await roomOf(ben, direct)).unread;
    const [x, y] = await sendAll(sock, ["u1", "u2"]);
    expect((await roomOf(ben, direct)).unread).toBe(before + 2);
    await del(ann, direct, y.id);
    expect((await roomOf(ben, direct)).unread).toBe(before + 1);
    // ben reads up to x; then x is deleted: nothing unread changes for him, and ann's own count stays 0.
    const benSock = await Socket.open(chatUrl(s, direct, ben));
    benSock.send({ type: "read", message_id: x.id });
    await waitUnread(ben, direct, 0);
    await del(ann, direct, x.id);
    expect((await roomOf(ben, direct)).unread).toBe(0);
    expect((await roomOf(ann, direct)).unread).toBe(0);
    const z = await send(sock, "u3");
    expect((await roomOf(ben, direct)).unread).toBe(1);
    benSock.send({ type: "read", message_id: z.id });
    await waitUnread(ben, direct, 0);
    benSock.close();
  });

  test("the group's owner deletes a member's message; another member may not (403 forbidden)", async () => {
    const m = await send(teamSock, "by ben");
    const catsTry = await del(cat, team, m.id);
    expectError(catsTry, 403, "forbidden");
    expect((await del(ann, team, m.id)).status).toBe(200);
  });

  test("a server admin deletes in a room they are not in (moderation)", async () => {
    const m = await send(sock, "spam");
    expect((await del(root, direct, m.id)).status).toBe(200);
    expect((await history(ann, direct)).map((x) => x.id)).not.toContain(m.id);
  });

  test("a member who is no admin and not in the room: 422 room_not_found", async () => {
    const m = await send(sock, "private");
    expectError(await del(cat, direct, m.id), 422, "room_not_found");
    expectError(await del(ann, direct, "x"), 422, "message_not_found");
    expectError(await del(root, direct, 999999), 422, "message_not_found");
  });
});

describe("reactions", () => {
  test("PUT adds, DELETE takes back, both idempotent; emoji in first-use order, users in reaction order", async () => {
    const m = await send(teamSock, "react to me");
    const put = (who: Account, e: string) => reaction("PUT", who, team, m.id, e);
    expect((await put(ann, "👍")).body).toEqual({ message_id: m.id, reactions: [{ emoji: "👍", user_ids: [ann.id] }] });
    await put(cat, "🎉");
    const r = await put(ben, "👍");
    expect(r.status).toBe(200);
    expect(r.body.reactions).toEqual([
      { emoji: "👍", user_ids: [ann.id, ben.id] },
      { emoji: "🎉", user_ids: [cat.id] },
    ]);
    expect((await put(ben, "👍")).body).toEqual(r.body);
    const h = (await history(cat, team)).find((x) => x.id === m.id);
    expect(h.reactions).toEqual(r.body.reactions);
    const gone = await reaction("DELETE", cat, team, m.id, "🎉");
    expect(gone.body.reactions).toEqual([{ emoji: "👍", user_ids: [ann.id, ben.id] }]);
    expect((await reaction("DELETE", cat, team, m.id, "🎉")).body).toEqual(gone.body);
    await reaction("DELETE", ann, team, m.id, "👍");
    const last = await reaction("DELETE", ben, team, m.id, "👍");
    expect(last.body).toEqual({ message_id: m.id, reactions: [] });
    expect((await history(cat, team)).find((x) => x.id === m.id).reactions).toBeUndefined();
  });

  test("flags, keycaps, skin tones and ZWJ sequences are one emoji each", async () => {
    const m = await send(sock, "emoji");
    for (const e of ["🇫🇷", "1️⃣", "👍🏽", "👩‍💻", "❤️"]) {
      expect((await reaction("PUT", ben, direct, m.id, e)).status).toBe(200);
    }
  });

  for (const e of ["a", "👍👍", "x👍", "%E0%A4", "  "]) {
    test(`refused: ${JSON.stringify(e)} is not one emoji (422 invalid_emoji)`, async () => {
      const m = await send(sock, "bad emoji");
      const r = await call(
        s.url,
        "PUT",
        `${path(direct, m.id)}/reactions/${e === "%E0%A4" ? e : encodeURIComponent(e)}`,
        {
          session: ben.session,
        },
      );
      expectError(r, 422, "invalid_emoji");
    });
  }

  test("at most 20 different emoji on a message (422 too_many_reactions); a 21st user of one is fine", async () => {
    const m = await send(sock, "many");
    const emoji = [..."😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂"];
    for (const e of emoji) expect((await reaction("PUT", ann, direct, m.id, e)).status).toBe(200);
    expectError(await reaction("PUT", ben, direct, m.id, "🙃"), 422, "too_many_reactions");
    expect((await reaction("PUT", ben, direct, m.id, "😀")).status).toBe(200);
  });

  test("refused: another room's message, an unknown one, a room the caller is not in", async () => {
    const m = await send(teamSock, "t");
    expectError(await reaction("PUT", ann, direct, m.id, "👍"), 422, "message_not_found");
    expectError(await reaction("DELETE", ann, direct, 999999, "👍"), 422, "message_not_found");
    expectError(await reaction("PUT", cat, direct, 1, "👍"), 422, "room_not_found");
    expectError(await reaction("DELETE", ann, direct, 1, "no"), 422, "invalid_emoji");
  });
});

// method, the route, the path, a body (none: the endpoint reads none)
const thumbs = encodeURIComponent("👍");
const WRITES = [
  ["PATCH", "/v1/rooms/:id/messages/:message_id", () => path(direct, 1), { text: "x" }],
  ["DELETE", "/v1/rooms/:id/messages/:message_id", () => path(direct, 1), undefined],
  [
    "PUT",
    "/v1/rooms/:id/messages/:message_id/reactions/:emoji",
    () => `${path(direct, 1)}/reactions/${thumbs}`,
    undefined,
  ],
  [
    "DELETE",
    "/v1/rooms/:id/messages/:message_id/reactions/:emoji",
    () => `${path(direct, 1)}/reactions/${thumbs}`,
    undefined,
  ],
] as const;

describe("the refusals every endpoint shares", () => {
  test.each(WRITES)("%s %s without a session is unauthorized", async (method, _, at, body) => {
    expectError(await call(s.url, method, at(), { body }), 401, "unauthorized");
  });

  test.each(WRITES)("%s %s from a foreign Origin is forbidden_origin", async (method, _, at, body) => {
    const headers = { origin: "https://evil.example" };
    expectError(await call(s.url, method, at(), { body, session: ann.session, headers }), 403, "forbidden_origin");
  });

  test("PATCH with a body over 64 KiB is payload_too_large", async () => {
    const raw = JSON.stringify({ text: "x".repeat(64 * 1024) });
    expectError(await call(s.url, "PATCH", path(direct, 1), { raw, session: ann.session }), 413, "payload_too_large");
  });

  test.each(WRITES)("%s %s in a room the caller is not in is room_not_found", async (method, _, at, body) => {
    expectError(await call(s.url, method, at(), { body, session: cat.session }), 422, "room_not_found");
  });
});

describe("rate limits", () => {
  test("edits and reactions take from the sender's message bucket: 429 rate_limited with Retry-After", async () => {
    const limited = await startServer({ config: { limits: true, messageBurst: 2, messageRate: 0.001 } });
    try {
      const [a, b] = await registerAll(limited.url, ["amy", "bob"]);
      const room = await createRoom(limited.url, a, [b]);
      const ws = await Socket.open(chatUrl(limited, room, a));
      const [m] = await sendAll(ws, ["one"]);
      const at = `/v1/rooms/${room}/messages/${m.id}`;
      expect((await call(limited.url, "PATCH", at, { session: a.session, body: { text: "two" } })).status).toBe(200);
      const r = await call(limited.url, "PATCH", at, { session: a.session, body: { text: "three" } });
      expectError(r, 429, "rate_limited");
      expect(r.headers.get("retry-after")).toBe("1");
      const put = await call(limited.url, "PUT", `${at}/reactions/${encodeURIComponent("👍")}`, {
        session: a.session,
      });
      expectError(put, 429, "rate_limited");
      const off = await call(limited.url, "DELETE", `${at}/reactions/${encodeURIComponent("👍")}`, {
        session: a.session,
      });
      expectError(off, 429, "rate_limited");
      ws.close();
    } finally {
      await limited.stop();
    }
  });
});

// Read markers are written by the hub's sweep: the count is polled until it shows.
const waitUnread = (who: Account, room: number, n: number) =>
  waitFor(async () => ((await roomOf(who, room)).unread === n ? true : undefined), 5000, every(20));
