// A user's own sessions: GET /v1/sessions and DELETE /v1/sessions/:id.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

let s: TestServer;
beforeAll(async () => (s = await startServer()));
afterAll(() => s?.stop());

const loginFrom = (login: string, userAgent: string) =>
  call(s.url, "POST", "/v1/login", { body: { login, password: "password123" }, headers: { "user-agent": userAgent } });
const sessions = (who: { session: string }) => call(s.url, "GET", "/v1/sessions", { session: who.session });

test("lists the caller's sessions, newest first, with where they came from; never the secret", async () => {
  const alice = await register(s.url, "alice");
  const phone = (await loginFrom("alice", "Phone/1.0")).body.session_id as string;
  s.clock.advance(1000);
  const laptop = (await loginFrom("alice", "x".repeat(300))).body.session_id as string;
  const r = await sessions({ session: phone });
  expect(r.status).toBe(200);
  expect(r.body).toEqual([
    {
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      created_at: expect.any(String),
      last_used_at: expect.any(String),
      user_agent: "x".repeat(256),
      address: "127.0.0.1",
      current: false,
    },
    expect.objectContaining({ user_agent: "Phone/1.0", current: true }),
    expect.objectContaining({ current: false }),
  ]);
  const text = JSON.stringify(r.body);
  for (const secret of [alice.session, phone, laptop]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(new Bun.CryptoHasher("sha256").update(secret).digest("hex"));
  }
  expect((await sessions({ session: laptop })).body[0].current).toBe(true);
  const bob = await register(s.url, "bob");
  expect((await sessions(bob)).body).toHaveLength(1);
});

test("ending a session by id signs it out and closes its sockets with 4001; the others stay", async () => {
  const carol = await register(s.url, "carol");
  const other = await register(s.url, "dave");
  const tablet = (await loginFrom("carol", "Tablet")).body.session_id as string;
  const room = await createRoom(s.url, carol, [other]);
  const onTablet = await Socket.open(chatUrl(s, room, { ...carol, session: tablet }));
  const here = await Socket.open(chatUrl(s, room, carol));
  const id = (await sessions(carol)).body.find((x: any) => x.user_agent === "Tablet").id;
  const r = await call(s.url, "DELETE", `/v1/sessions/${id}`, { session: carol.session });
  expect(r.status).toBe(200);
  expect(r.body).toEqual({});
  expect(await onTablet.closed).toEqual({ code: 4001, reason: "logged out" });
  expectError(await call(s.url, "GET", "/v1/info", { session: tablet }), 401, "unauthorized");
  expect((await call(s.url, "GET", "/v1/info", { session: carol.session })).status).toBe(200);
  expect(here.ws.readyState).toBe(WebSocket.OPEN);
  expectError(await call(s.url, "DELETE", `/v1/sessions/${id}`, { session: carol.session }), 422, "session_not_found");
  await here.close();
});

test("another user's session, an unknown id and a malformed one are session_not_found", async () => {
  const erin = await register(s.url, "erin");
  const frank: Account = await register(s.url, "frank");
  const franks = (await sessions(frank)).body[0].id;
  for (const id of [franks, "0".repeat(32), "not-an-id"]) {
    expectError(await call(s.url, "DELETE", `/v1/sessions/${id}`, { session: erin.session }), 422, "session_not_found");
  }
  expect((await call(s.url, "GET", "/v1/info", { session: frank.session })).status).toBe(200);
  expectError(await call(s.url, "GET", "/v1/sessions"), 401, "unauthorized");
  expectError(await call(s.url, "DELETE", `/v1/sessions/${franks}`), 401, "unauthorized");
});

test("ending the current session by id is a logout", async () => {
  const gina = await register(s.url, "gina");
  const [mine] = (await sessions(gina)).body;
  expect((await call(s.url, "DELETE", `/v1/sessions/${mine.id}`, { session: gina.session })).status).toBe(200);
  expectError(await call(s.url, "GET", "/v1/info", { session: gina.session }), 401, "unauthorized");
});
