import { afterEach, describe, expect, test } from "bun:test";
import { type Config, loadConfig } from "../lib/config.ts";
import { addressKey } from "../lib/limits/address.ts";
import { type Account, call, createRoom, expectError, register, upgradeRequest } from "./support/http.ts";
import { startWithAdmin } from "./support/admin.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, Socket } from "./support/socket.ts";

// Every test here starts its own server with the limits on and a frozen clock.
let s: TestServer;
let running: TestServer | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function limited(overrides: Partial<Config> = {}) {
  running = s = await startServer({ config: { limits: true, ...overrides } });
  s.clock.freeze();
  return s;
}

const login = (login: string, password: string, headers?: Record<string, string>) =>
  call(s.url, "POST", "/v1/login", { body: { login, password }, headers });
const registerRaw = (login: string, headers?: Record<string, string>) =>
  call(s.url, "POST", "/v1/register", { body: { login, password: "password123" }, headers });

function expectRateLimited(r: Awaited<ReturnType<typeof call>>, retryAfter?: number) {
  expectError(r, 429, "rate_limited");
  if (retryAfter !== undefined) expect(r.headers.get("retry-after")).toBe(String(retryAfter));
}

describe("failed logins", () => {
  test("a login gets 10 failed attempts a minute; the 11th is rate_limited with Retry-After, even with the right password", async () => {
    await limited();
    await register(s.url, "alice");
    for (let i = 0; i < 10; i++) expectError(await login("ALICE", `wrong-${i}-pw`), 422, "wrong_credentials");
    expectRateLimited(await login("alice", "wrong-again"), 6);
    expectRateLimited(await login("alice", "password123"), 6);
    s.clock.advance(5_999);
    expectRateLimited(await login("alice", "password123"), 1);
    s.clock.advance(1);
    expect((await login("alice", "password123")).status).toBe(200);
  });

  test("successful logins are not slowed and do not drain the bucket", async () => {
    await limited({ loginFailsPerLogin: 3 });
    await register(s.url, "bob");
    for (let i = 0; i < 20; i++) expect((await login("bob", "password123")).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await login("bob", "wrong-password"), 422, "wrong_credentials");
    expectRateLimited(await login("bob", "password123"), 20);
  });

  test("one login's bucket does not lock out another login", async () => {
    await limited({ loginFailsPerLogin: 2 });
    await register(s.url, "carol");
    await register(s.url, "dave");
    for (let i = 0; i < 2; i++) await login("carol", "wrong-password");
    expectRateLimited(await login("carol", "password123"));
    expect((await login("dave", "password123")).status).toBe(200);
  });

  test("unknown logins count as failures too", async () => {
    await limited({ loginFailsPerLogin: 2 });
    for (let i = 0; i < 2; i++) expectError(await login("nobody", "password123"), 422, "user_not_found");
    expectRateLimited(await login("nobody", "password123"), 30);
  });

  test("parallel guesses cannot slip past the bucket", async () => {
    await limited({ loginFailsPerLogin: 5 });
    await register(s.url, "erin");
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => login("erin", `guess-${i}-pw`)));
    expect(replies.filter((r) => r.status === 422).length).toBe(5);
    expect(replies.filter((r) => r.status === 429).length).toBe(15);
  });
});

describe("per client address", () => {
  test("registrations and failed logins from one address share 30 a minute", async () => {
    await limited();
    for (let i = 0; i < 20; i++) expect((await registerRaw(`user${i}`)).status).toBe(200);
    for (let i = 0; i < 10; i++) expectError(await login(`user${i}`, "wrong-password"), 422, "wrong_credentials");
    expectRateLimited(await registerRaw("one-too-many"), 2);
    expectRateLimited(await login("user15", "password123"), 2); // the address is out, whatever the login
    s.clock.advance(2_000);
    expect((await registerRaw("one-too-many")).status).toBe(200);
  });

  test("X-Forwarded-For is ignored unless trust-proxy is on", async () => {
    await limited({ authPerAddress: 2 });
    await registerRaw("f1", { "x-forwarded-for": "10.0.0.1" });
    await registerRaw("f2", { "x-forwarded-for": "10.0.0.2" });
    expectRateLimited(await registerRaw("f3", { "x-forwarded-for": "10.0.0.3" }));
  });

  test("with trust-proxy the address is the last X-Forwarded-For entry, not what the client claims", async () => {
    await limited({ authPerAddress: 2, trustProxy: true });
    await registerRaw("g1", { "x-forwarded-for": "6.6.6.6, 10.0.0.1" });
    await registerRaw("g2", { "x-forwarded-for": "7.7.7.7, 10.0.0.1" });
    expectRateLimited(await registerRaw("g3", { "x-forwarded-for": "8.8.8.8, 10.0.0.1" }));
    expect((await registerRaw("g3", { "x-forwarded-for": "10.0.0.2" })).status).toBe(200);
    expect((await registerRaw("g4")).status).toBe(200); // no header: the socket's address
  });

  test("one IPv6 /64 is one address", async () => {
    await limited({ authPerAddress: 2, trustProxy: true });
    await registerRaw("h1", { "x-forwarded-for": "2001:db8:1:2::1" });
    await registerRaw("h2", { "x-forwarded-for": "2001:db8:1:2:ffff::9" });
    expectRateLimited(await registerRaw("h3", { "x-forwarded-for": "2001:db8:1:2::abcd" }));
    expect((await registerRaw("h3", { "x-forwarded-for": "2001:db8:1:3::1" })).status).toBe(200);
  });
});

test("IPv6 addresses share a bucket per /64; IPv4-mapped addresses are IPv4", () => {
  expect(addressKey("2001:db8::1")).toBe(addressKey("2001:0db8:0:0:ffff:1:2:3"));
  expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
  expect(addressKey("2001:db8:0:1::1")).not.toBe(addressKey("2001:db8::1"));
  expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  expect(addressKey("::1")).toBe("0:0:0:0::/64");
  expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
  expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
});

describe("messages", () => {
  test("a burst of 50 is stored; the 51st is rate_limited on the socket and not stored; time refills", async () => {
    await limited();
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    const room = await createRoom(s.url, a, [b]);
    const sock = await Socket.open(chatUrl(s, room, a));
    for (let i = 0; i < 51; i++) sock.send({ text: `m${i}`, client_id: `c${i}` });
    const acks = await sock.take(50, isMessage);
    expect(acks.map((m) => m.client_id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    const refusal = await sock.next((f) => f.error);
    expect(refusal).toEqual({ error: { code: "rate_limited", message: expect.any(String) }, client_id: "c50" });
    sock.send({ text: "no client id" });
    expect((await sock.next((f) => f.error)).error.code).toBe("rate_limited");
    s.clock.advance(100); // 10 a second: one more
    sock.send({ text: "m50 again", client_id: "c50" });
    expect((await sock.next(isMessage)).client_id).toBe("c50");
    const history = (await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: b.session })).body;
    expect(history.map((m: any) => m.text)).toEqual([...acks.map((m) => m.text), "m50 again"]);
    await sock.close();
  });

  test("one user's flood does not slow another user", async () => {
    await limited({ messageBurst: 3 });
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    const room = await createRoom(s.url, a, [b]);
    const [sa, sb] = [await Socket.open(chatUrl(s, room, a)), await Socket.open(chatUrl(s, room, b))];
    for (let i = 0; i < 5; i++) sa.send({ text: "flood", client_id: `a${i}` });
    expect((await sa.next((f) => f.error)).client_id).toBe("a3");
    sb.send({ text: "calm", client_id: "b0" });
    expect((await sb.next((f) => f.client_id === "b0")).text).toBe("calm");
    await Promise.all([sa.close(), sb.close()]);
  });
});

describe("connections", () => {
  async function roomOfTwo() {
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    return { a, b, room: await createRoom(s.url, a, [b]) };
  }
  // bob watches presence: once alice is gone from it, the server has closed all her sockets.
  const gone = (watcher: Socket, who: Account) =>
    watcher.next((f) => f.type === "presence" && !f.online.includes(who.id));

  test("a user's 21st WebSocket is refused before the upgrade; closing sockets frees the slots", async () => {
    await limited();
    const { a, b, room } = await roomOfTwo();
    const watcher = await Socket.open(chatUrl(s, room, b, { events: "presence" }));
    const mine = await Promise.all(Array.from({ length: 20 }, () => Socket.open(chatUrl(s, room, a))));
    const refused = await upgradeRequest(chatUrl(s, room, a));
    expectError(refused, 429, "rate_limited");
    expect(refused.headers.get("retry-after")).toBeNull();
    for (const sock of mine) (sock.ws as WebSocket & { terminate(): void }).terminate();
    await gone(watcher, a);
    const again = await Promise.all(Array.from({ length: 20 }, () => Socket.open(chatUrl(s, room, a))));
    expect(again.every((x) => x.ws.readyState === WebSocket.OPEN)).toBe(true);
    await Promise.all([...again, watcher].map((x) => x.close()));
  });

  test("an address has its own cap across users", async () => {
    await limited({ socketsPerAddress: 3 });
    const { a, b, room } = await roomOfTwo();
    const watcher = await Socket.open(chatUrl(s, room, b, { events: "presence" }));
    const open = [await Socket.open(chatUrl(s, room, a)), await Socket.open(chatUrl(s, room, b))];
    expectError(await upgradeRequest(chatUrl(s, room, b)), 429, "rate_limited");
    expectError(await upgradeRequest(chatUrl(s, room, a)), 429, "rate_limited");
    await open[0]!.close();
    await gone(watcher, a); // the server has let go of alice's socket, and of its slot
    const next = await Socket.open(chatUrl(s, room, b));
    await Promise.all([next, open[1]!, watcher].map((x) => x.close()));
  });

  test("refusals that come first (session, room) are not counted against the cap", async () => {
    await limited({ socketsPerUser: 1 });
    const { a, room } = await roomOfTwo();
    for (let i = 0; i < 3; i++) expectError(await upgradeRequest(chatUrl(s, 999, a)), 422, "room_not_found");
    expectError(await call(s.url, "GET", `/v1/rooms/${room}/chat`, { session: a.session }), 426, "upgrade_required");
    const sock = await Socket.open(chatUrl(s, room, a));
    expectError(await upgradeRequest(chatUrl(s, room, a)), 429, "rate_limited");
    await sock.close();
  });
});

describe("the switch", () => {
  test("--limits off and ECHAT_LIMITS=off turn the limits off; they are on by default", () => {
    expect(loadConfig([], {}).limits).toBe(true);
    expect(loadConfig(["--limits", "off"], {}).limits).toBe(false);
    expect(loadConfig([], { ECHAT_LIMITS: "off" }).limits).toBe(false);
  });

  test("with the limits off, failed logins, floods and many sockets all pass", async () => {
    running = s = await startServer({
      config: { limits: false, loginFailsPerLogin: 1, messageBurst: 1, socketsPerUser: 1, authPerAddress: 1 },
    });
    s.clock.freeze();
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    for (let i = 0; i < 5; i++) expectError(await login("alice", "wrong-password"), 422, "wrong_credentials");
    expect((await login("alice", "password123")).status).toBe(200);
    const room = await createRoom(s.url, a, [b]);
    const socks = await Promise.all(Array.from({ length: 3 }, () => Socket.open(chatUrl(s, room, a))));
    for (let i = 0; i < 20; i++) socks[0]!.send({ text: `m${i}`, client_id: `c${i}` });
    expect((await socks[0]!.take(20, isMessage)).length).toBe(20);
    expect(socks[0]!.inbox.filter((f) => f.error)).toEqual([]);
    await Promise.all(socks.map((x) => x.close()));
  });
});

describe("size limits (on whatever the switch says)", () => {
  const padded = (bytes: number) => {
    const base = JSON.stringify({ login: "x", password: "" });
    return JSON.stringify({ login: "x", password: "p".repeat(bytes - base.length) });
  };

  test.each([["/v1/register"], ["/v1/login"]])(
    "a body of exactly 64 KiB to %s is read; one byte more is payload_too_large",
    async (path) => {
      running = s = await startServer({ config: { limits: false } });
      const exact = await call(s.url, "POST", path, { raw: padded(64 * 1024) });
      expect(exact.status).toBe(422); // read and judged, not refused for its size
      expect(exact.body.error.code).not.toBe("payload_too_large");
      expectError(await call(s.url, "POST", path, { raw: padded(64 * 1024 + 1) }), 413, "payload_too_large");
    },
  );

  test.each([["/v1/password"], ["/v1/rooms"]])(
    "a body over 64 KiB to %s, with a valid session, is payload_too_large",
    async (path) => {
      running = s = await startServer({ config: { limits: false } });
      const a = await register(s.url, "alice");
      const big = padded(64 * 1024 + 1);
      expectError(await call(s.url, "POST", path, { raw: big, session: a.session }), 413, "payload_too_large");
    },
  );

  test("a body over 64 KiB to the admin endpoints, with an admin's session, is payload_too_large", async () => {
    const { s: server, admin } = await startWithAdmin({ config: { limits: false } });
    running = s = server;
    const big = padded(64 * 1024 + 1);
    expectError(
      await call(s.url, "POST", "/v1/invites", { raw: big, session: admin.session }),
      413,
      "payload_too_large",
    );
    const path = `/v1/admin/users/${admin.id}`;
    expectError(await call(s.url, "PATCH", path, { raw: big, session: admin.session }), 413, "payload_too_large");
  });

  test("a frame of exactly 64 KiB is read; one byte more closes the socket with 1009", async () => {
    running = s = await startServer({ config: { limits: false } });
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    const room = await createRoom(s.url, a, [b]);
    const sock = await Socket.open(chatUrl(s, room, a));
    const frame = (bytes: number) => {
      const base = JSON.stringify({ text: "" });
      return JSON.stringify({ text: "x".repeat(bytes - base.length) });
    };
    sock.send(frame(64 * 1024));
    expect((await sock.next((f) => f.error)).error.code).toBe("invalid_text"); // too long a text, but read
    sock.send(frame(64 * 1024 + 1));
    expect((await sock.closed).code).toBe(1009);
  });
});
