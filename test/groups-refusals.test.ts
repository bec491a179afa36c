// The refusals every endpoint of groups and the user stream shares with the rest of the API: no session
// (401), a foreign Origin on a state-changing request or an upgrade (403 forbidden_origin), a body over
// 64 KiB (413); and the stream's own: a plain GET (426), one socket past the user's cap (429).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, expectError, upgradeRequest, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { Socket } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account;
let room: number;
beforeAll(async () => {
  s = await startServer({ config: { limits: true, socketsPerUser: 1 } });
  [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
  room = (
    await call(s.url, "POST", "/v1/rooms", { session: ann.session, body: { name: "R", public: true, users: [] } })
  ).body.id;
});
afterAll(() => s.stop());

// method, the route, the path, a body (none: the endpoint reads none)
const WRITES = [
  ["PATCH", "/v1/rooms/:id", () => `/v1/rooms/${room}`, { name: "x" }],
  ["POST", "/v1/rooms/:id/users", () => `/v1/rooms/${room}/users`, { users: [] }],
  ["DELETE", "/v1/rooms/:id/users/:user_id", () => `/v1/rooms/${room}/users/${ben.id}`, undefined],
  ["POST", "/v1/rooms/:id/join", () => `/v1/rooms/${room}/join`, undefined],
] as const;

describe("groups' endpoints", () => {
  test.each(WRITES)("%s %s without a session is unauthorized", async (method, _, path, body) => {
    expectError(await call(s.url, method, path(), { body }), 401, "unauthorized");
  });

  test.each(WRITES)("%s %s from a foreign Origin is forbidden_origin", async (method, _, path, body) => {
    const headers = { origin: "https://evil.example" };
    expectError(await call(s.url, method, path(), { body, session: ann.session, headers }), 403, "forbidden_origin");
  });

  test.each(WRITES.filter(([, , , body]) => body !== undefined))(
    "%s %s with a body over 64 KiB is payload_too_large",
    async (method, _, path) => {
      const raw = JSON.stringify({ pad: "x".repeat(64 * 1024) });
      expectError(await call(s.url, method, path(), { raw, session: ann.session }), 413, "payload_too_large");
    },
  );

  test("a topic past 1000 characters is invalid_topic on PATCH too", async () => {
    const r = await call(s.url, "PATCH", `/v1/rooms/${room}`, {
      session: ann.session,
      body: { topic: "t".repeat(1001) },
    });
    expectError(r, 422, "invalid_topic");
  });
});

describe("GET /v1/stream", () => {
  const url = (who?: Account) => `${s.wsUrl}/v1/stream${who ? `?session_id=${who.session}` : ""}`;

  test("without a session: 401 before the upgrade", async () => {
    expectError(await upgradeRequest(url()), 401, "unauthorized");
  });

  test("from a foreign Origin: 403 forbidden_origin before the upgrade", async () => {
    expectError(await upgradeRequest(url(ann), { origin: "https://evil.example" }), 403, "forbidden_origin");
  });

  test("a plain GET is upgrade_required", async () => {
    expectError(await call(s.url, "GET", `/v1/stream?session_id=${ann.session}`), 426, "upgrade_required");
  });

  test("a stream counts against the user's sockets (--sockets-per-user 1 here): the next is rate_limited", async () => {
    const open = await Socket.open(url(ben));
    const refused = await upgradeRequest(url(ben));
    expectError(refused, 429, "rate_limited");
    expect(refused.headers.get("retry-after")).toBeNull();
    await open.close();
  });
});
