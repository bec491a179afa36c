import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { Config } from "../lib/config.ts";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { LogSink } from "./support/log.ts";
import { opensSqliteFile } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, Socket } from "./support/socket.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let s: TestServer;
let running: TestServer | undefined;
let log: LogSink;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function server(overrides: Partial<Config> = {}) {
  log = new LogSink();
  running = s = await startServer({ config: { logLevel: "debug", ...overrides }, log: log.write });
  s.clock.freeze();
  return s;
}

const info = (session: string) => call(s.url, "GET", "/v1/info", { session });
const login = async (who: Account, password = "password123") =>
  (await call(s.url, "POST", "/v1/login", { body: { login: who.login, password } })).body.session_id as string;

// The periodic session check runs once the clock has moved a minute; its debug line says it ran.
async function sessionCheck() {
  const from = log.lines.length;
  s.clock.advance(MINUTE);
  await log.next((l) => l.includes("sessions checked"), from);
}

function sessionRows(): number {
  const db = new Database(s.db, { readonly: true });
  try {
    return db.query<{ n: number }, []>("SELECT count(*) AS n FROM sessions").get()!.n;
  } finally {
    db.close();
  }
}

describe("expiry", () => {
  test("a session unused for 30 days answers 401; used within 30 days it lives on", async () => {
    await server();
    const a = await register(s.url, "alice");
    s.clock.advance(29 * DAY);
    expect((await info(a.session)).status).toBe(200);
    s.clock.advance(29 * DAY);
    expect((await info(a.session)).status).toBe(200);
    s.clock.advance(30 * DAY + 1);
    expectError(await info(a.session), 401, "unauthorized");
    s.clock.advance(-DAY); // an expired session is gone, not merely asleep
    expectError(await info(a.session), 401, "unauthorized");
  });

  test("last use is recorded at most once an hour, so idle time counts from the first use in that hour", async () => {
    await server();
    const a = await register(s.url, "alice"); // created and used at T
    s.clock.advance(59 * MINUTE);
    expect((await info(a.session)).status).toBe(200); // not recorded: within the hour
    s.clock.advance(30 * DAY - 59 * MINUTE + 1);
    expectError(await info(a.session), 401, "unauthorized"); // idle since T, not since T+59min
  });

  test("a session used every day still ends a year after login", async () => {
    await server({ sessionIdleDays: 30, sessionMaxDays: 365 });
    const a = await register(s.url, "alice");
    for (let day = 20; day <= 360; day += 20) {
      s.clock.advance(20 * DAY);
      expect((await info(a.session)).status).toBe(200);
    }
    s.clock.advance(5 * DAY + 1);
    expectError(await info(a.session), 401, "unauthorized");
  });

  test("the lifetimes are settings", async () => {
    await server({ sessionIdleDays: 1, sessionMaxDays: 2 });
    const a = await register(s.url, "alice");
    s.clock.advance(DAY + 1);
    expectError(await info(a.session), 401, "unauthorized");
    const again = await login(a);
    for (let i = 0; i < 3; i++) {
      s.clock.advance(16 * HOUR);
      expect((await info(again)).status).toBe(200);
    }
    s.clock.advance(1 * DAY);
    expectError(await info(again), 401, "unauthorized");
  });

  test.skipIf(!opensSqliteFile("the purge test"))(
    "expired sessions are purged from the database periodically",
    async () => {
      await server();
      const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
      s.clock.advance(20 * DAY);
      const fresh = await login(a);
      expect(sessionRows()).toBe(3);
      s.clock.advance(11 * DAY);
      const from = log.lines.length;
      await sessionCheck();
      expect(await log.next((l) => l.includes("expired sessions purged"), from)).toContain("count=2");
      expect(sessionRows()).toBe(1);
      expect((await info(fresh)).status).toBe(200);
      expectError(await info(b.session), 401, "unauthorized");
    },
  );

  test("an open socket keeps its session alive; past the maximum the socket is closed with 4001", async () => {
    await server();
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    const room = await createRoom(s.url, a, [b]);
    const sock = await Socket.open(chatUrl(s, room, a));
    for (let i = 0; i < 2; i++) {
      s.clock.advance(20 * DAY);
      await sessionCheck();
    }
    expect(sock.ws.readyState).toBe(WebSocket.OPEN);
    expect((await info(a.session)).status).toBe(200); // 40 days without a request, but never idle for 30
    s.clock.advance(330 * DAY);
    await sessionCheck();
    expect(await sock.closed).toEqual({ code: 4001, reason: "logged out" });
  });

  test.skipIf(!opensSqliteFile("the other-process test"))(
    "sessions deleted by another process (echat user passwd) lose their sockets at the next check",
    async () => {
      await server();
      const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
      const room = await createRoom(s.url, a, [b]);
      const [sa, sb] = [await Socket.open(chatUrl(s, room, a)), await Socket.open(chatUrl(s, room, b))];
      const db = new Database(s.db);
      db.run("DELETE FROM sessions WHERE user_id = ?", [a.id]);
      db.close();
      await sessionCheck();
      expect((await sa.closed).code).toBe(4001);
      sb.send({ text: "still here", client_id: "b" });
      expect((await sb.next(isMessage)).client_id).toBe("b");
      await sb.close();
    },
  );
});

describe("changing the password", () => {
  test("ends every other session of the user and closes their sockets; this one stays", async () => {
    await server();
    const [a, b] = [await register(s.url, "alice"), await register(s.url, "bob")];
    const [second, third] = [await login(a), await login(a)];
    const room = await createRoom(s.url, a, [b]);
    const mine = await Socket.open(chatUrl(s, room, a));
    const others = await Promise.all(
      [second, third].map((session) => Socket.open(chatUrl(s, room, { ...a, session }))),
    );
    const bobs = await Socket.open(chatUrl(s, room, b));

    const r = await call(s.url, "POST", "/v1/password", {
      session: a.session,
      body: { old_password: "password123", new_password: "brand-new-pw" },
    });
    expect(r).toMatchObject({ status: 200, body: {} });
    for (const o of others) expect(await o.closed).toEqual({ code: 4001, reason: "logged out" });
    for (const old of [second, third]) expectError(await info(old), 401, "unauthorized");
    expect((await info(a.session)).status).toBe(200);
    mine.send({ text: "mine still works", client_id: "m" });
    expect((await mine.next(isMessage)).client_id).toBe("m");
    expect((await info(b.session)).status).toBe(200);
    expect(bobs.ws.readyState).toBe(WebSocket.OPEN);

    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } }),
      422,
      "wrong_credentials",
    );
    expect(await login(a, "brand-new-pw")).toMatch(/^[0-9a-f]{40}$/);
    await Promise.all([mine.close(), bobs.close()]);
  });

  test("refusals: no session, wrong old password, bad new password, bad body, wrong method", async () => {
    await server();
    const a = await register(s.url, "alice");
    const post = (body: unknown, session: string | null = a.session) =>
      call(s.url, "POST", "/v1/password", { session: session ?? undefined, body });
    expectError(await post({ old_password: "password123", new_password: "whatever-pw" }, null), 401, "unauthorized");
    expectError(await post({ old_password: "not-it-at-all", new_password: "whatever-pw" }), 422, "wrong_credentials");
    expectError(await post({ old_password: "password123", new_password: "short" }), 422, "invalid_password");
    expectError(await post({ old_password: "password123" }), 422, "invalid_json");
    expectError(await post({ old_password: 1, new_password: "whatever-pw" }), 422, "invalid_json");
    expectError(await call(s.url, "GET", "/v1/password", { session: a.session }), 405, "method_not_allowed");
    expect(await login(a)).toMatch(/^[0-9a-f]{40}$/); // nothing changed
  });

  test("wrong old passwords drain the login's bucket, so a stolen session cannot guess", async () => {
    await server({ limits: true, loginFailsPerLogin: 3 });
    const a = await register(s.url, "alice");
    const post = (old_password: string) =>
      call(s.url, "POST", "/v1/password", { session: a.session, body: { old_password, new_password: "whatever-pw" } });
    for (let i = 0; i < 3; i++) expectError(await post(`guess-${i}-pw`), 422, "wrong_credentials");
    const r = await post("password123");
    expectError(r, 429, "rate_limited");
    expect(r.headers.get("retry-after")).toBe("20");
  });
});

describe("secrets stay out of the log", () => {
  test("no session id, password or hash used in a busy run appears in the captured log", async () => {
    await server({ limits: true, loginFailsPerLogin: 2 });
    const passwords = ["password123", "correct horse battery", "wrong-guess-1", "wrong-guess-2", "Пароль-секрет"];
    const a = await register(s.url, "alice", passwords[1]);
    const b = await register(s.url, "bob");
    const sessions = [a.session, b.session];
    for (const p of [passwords[2]!, passwords[3]!, passwords[0]!]) {
      await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: p } }); // the third is rate limited
    }
    sessions.push(await login(b));
    const room = await createRoom(s.url, a, [b]);
    const sock = await Socket.open(chatUrl(s, room, b, { events: "typing,presence,read" }));
    sock.send({ text: "hi", client_id: "x" });
    await sock.next(isMessage);
    s.clock.advance(MINUTE); // the login's bucket refills
    await call(s.url, "POST", "/v1/password", {
      session: a.session,
      body: { old_password: passwords[1], new_password: passwords[4] },
    });
    await call(s.url, "GET", "/v1/info", { headers: { authorization: `Bearer ${"f".repeat(40)}` } });
    await call(s.url, "POST", "/v1/logout", { session: sessions[2] });
    s.clock.advance(31 * DAY);
    await sessionCheck(); // purges, closes the socket
    await sock.closed;

    const text = log.lines.join("\n");
    for (const event of ["login rate limited", "password changed", "expired sessions purged", "sessions checked"]) {
      expect(text).toContain(event); // the log did speak about each of them
    }
    for (const secret of [...sessions, ...passwords, "f".repeat(40)]) expect(text).not.toContain(secret);
    expect(text).not.toContain("$argon2");
    for (const id of sessions) {
      const hash = new Bun.CryptoHasher("sha256").update(id).digest();
      expect(text).not.toContain(hash.toString("hex"));
      expect(text).not.toContain(hash.toString("base64"));
    }
  });
});
