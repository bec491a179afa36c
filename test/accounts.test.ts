import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, expectError, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";

let s: TestServer;
beforeAll(async () => void (s = await startServer()));
afterAll(() => s.stop());

describe("register", () => {
  test("answers 200 with a 40-hex session id that works for /v1/info", async () => {
    const r = await call(s.url, "POST", "/v1/register", { body: { login: "alice", password: "password1" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.body.session_id).toMatch(/^[0-9a-f]{40}$/);
    const info = await call(s.url, "GET", "/v1/info", { session: r.body.session_id });
    expect(info.status).toBe(200);
    expect(info.body).toEqual({ id: expect.any(Number), login: "alice", admin: false });
  });

  test("a taken login, in any case and any script, is user_already_exists", async () => {
    await register(s.url, "Вася");
    for (const login of ["Вася", "ВАСЯ", "вася", "alice", "ALICE"]) {
      expectError(
        await call(s.url, "POST", "/v1/register", { body: { login, password: "password1" } }),
        422,
        "user_already_exists",
      );
    }
  });

  test("logins are NFC-normalized: a decomposed é is the same login as a composed one", async () => {
    await register(s.url, "caf\u00e9");
    expectError(
      await call(s.url, "POST", "/v1/register", { body: { login: "cafe\u0301", password: "password1" } }),
      422,
      "user_already_exists",
    );
    const r = await call(s.url, "POST", "/v1/login", { body: { login: "CAFE\u0301", password: "password123" } });
    expect(r.status).toBe(200);
  });

  test.each([
    ["empty", ""],
    ["leading space", " bob"],
    ["trailing space", "bob "],
    ["a newline", "bo\nb"],
    ["a NUL", "bo\u0000b"],
    ["65 characters", "x".repeat(65)],
  ])("a login with %s is invalid_login", async (_, login) => {
    expectError(
      await call(s.url, "POST", "/v1/register", { body: { login, password: "password1" } }),
      422,
      "invalid_login",
    );
  });

  test("a login of 64 characters (emoji count as one) is accepted", async () => {
    const r = await call(s.url, "POST", "/v1/register", { body: { login: "😀".repeat(64), password: "password1" } });
    expect(r.status).toBe(200);
  });

  test("SQL metacharacters in a login are stored as text", async () => {
    const login = "o'brien'); DROP TABLE users;--";
    const a = await register(s.url, login);
    const info = await call(s.url, "GET", "/v1/info", { session: a.session });
    expect(info.body.login).toBe(login);
  });

  test.each([
    ["7 characters", "1234567"],
    ["1025 characters", "p".repeat(1025)],
  ])("a password of %s is invalid_password", async (_, password) => {
    expectError(
      await call(s.url, "POST", "/v1/register", { body: { login: "pwtest", password } }),
      422,
      "invalid_password",
    );
  });

  test.each([
    ["not JSON", "{login:"],
    ["a JSON array", "[]"],
    ["a JSON string", '"x"'],
    ["null", "null"],
    ["no password", '{"login":"x"}'],
    ["a numeric login", '{"login":5,"password":"password1"}'],
    ["a null password", '{"login":"x","password":null}'],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])],
  ])("a body that is %s is invalid_json", async (_, raw) => {
    expectError(await call(s.url, "POST", "/v1/register", { raw: raw as BodyInit }), 422, "invalid_json");
  });

  test("extra keys and any key order are accepted", async () => {
    const r = await call(s.url, "POST", "/v1/register", {
      raw: '{"extra":[1],"password":"password1","login":"keyorder"}',
    });
    expect(r.status).toBe(200);
  });

  test("a body over 64 KiB is payload_too_large, with or without Content-Length", async () => {
    const big = JSON.stringify({ login: "big", password: "x".repeat(70 * 1024) });
    expectError(await call(s.url, "POST", "/v1/register", { raw: big }), 413, "payload_too_large");
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    expectError(await call(s.url, "POST", "/v1/register", { raw: stream }), 413, "payload_too_large");
  });
});

describe("login and logout", () => {
  test("login gives a new session; both sessions work until each is logged out", async () => {
    const a = await register(s.url, "Петр", "secret-pw-1");
    const r = await call(s.url, "POST", "/v1/login", { body: { login: "пЕТР", password: "secret-pw-1" } });
    expect(r.status).toBe(200);
    const second = r.body.session_id as string;
    expect(second).not.toBe(a.session);
    expect((await call(s.url, "POST", "/v1/logout", { session: a.session, body: {} })).body).toEqual({});
    expectError(await call(s.url, "GET", "/v1/info", { session: a.session }), 401, "unauthorized");
    expect((await call(s.url, "GET", "/v1/info", { session: second })).body.login).toBe("Петр");
  });

  test("an unknown login is user_not_found, a wrong password wrong_credentials", async () => {
    await register(s.url, "carol", "right-password");
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "nobody", password: "whatever1" } }),
      422,
      "user_not_found",
    );
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "carol", password: "wrong-password" } }),
      422,
      "wrong_credentials",
    );
    expectError(await call(s.url, "POST", "/v1/login", { body: { login: "carol" } }), 422, "invalid_json");
  });

  test("Authorization: Bearer works like X-Session-Id", async () => {
    const a = await register(s.url, "bearer");
    const r = await call(s.url, "GET", "/v1/info", { headers: { authorization: `Bearer ${a.session}` } });
    expect(r.body).toEqual({ id: a.id, login: "bearer", admin: false });
    expect(
      (await call(s.url, "POST", "/v1/logout", { headers: { authorization: `Bearer ${a.session}` } })).status,
    ).toBe(200);
    expectError(await call(s.url, "GET", "/v1/info", { session: a.session }), 401, "unauthorized");
  });

  test.each([
    ["no session", {}],
    ["a malformed session", { "x-session-id": "nope" }],
    ["an unknown session", { "x-session-id": "0".repeat(40) }],
    ["an upper-case session", { "x-session-id": "A".repeat(40) }],
    ["a Basic authorization", { authorization: "Basic abc" }],
  ])("%s is unauthorized everywhere", async (_, headers) => {
    for (const [method, path] of [
      ["GET", "/v1/info"],
      ["POST", "/v1/logout"],
      ["GET", "/v1/users?q=a"],
      ["GET", "/v1/rooms"],
      ["POST", "/v1/rooms"],
      ["GET", "/v1/rooms/1"],
      ["GET", "/v1/rooms/1/messages"],
    ] as const) {
      expectError(await call(s.url, method, path, { headers: headers as Record<string, string> }), 401, "unauthorized");
    }
  });
});

describe("the HTTP surface", () => {
  test("unknown paths are not_found", async () => {
    for (const path of [
      "/v1",
      "/v2/info",
      "/v1/rooms/1/",
      "/v1//info",
      "/v1/rooms/1/messages/x/y",
      "/%2e%2e/etc/passwd",
    ]) {
      expectError(await call(s.url, "GET", path), 404, "not_found");
    }
  });

  test("a known path with the wrong method is method_not_allowed with Allow", async () => {
    const r = await call(s.url, "DELETE", "/v1/info");
    expectError(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("GET, HEAD");
    expectError(await call(s.url, "GET", "/v1/login"), 405, "method_not_allowed");
    expectError(await call(s.url, "PUT", "/v1/rooms"), 405, "method_not_allowed");
  });
});
