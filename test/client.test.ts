// The typed client (client/) against a real server: REST calls with typed results and errors, and the room
// socket's reconnect, resume and exactly-once sends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, EchatClient, ERROR_CODES, type ErrorCode, NetworkError } from "../client/index.ts";
import { ERRORS } from "../lib/errors.ts";
import { startServer, type TestServer } from "./support/server.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

let n = 0;
const unique = (name: string) => `${name}${++n}`;

async function signedUp(name = "user") {
  const c = new EchatClient({ baseUrl: s.url });
  await c.register(unique(name), "password123");
  return { c, me: await c.info() };
}

// The rejection of p, which must be an ApiError.
async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe("the client's REST calls", () => {
  test("its error codes are exactly the server's catalogue", () => {
    expect<string[]>([...ERROR_CODES].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  test("register keeps the session and reports it; info and logout use it; logout forgets it", async () => {
    const seen: (string | null)[] = [];
    const c = new EchatClient({ baseUrl: s.url, onSession: (id) => seen.push(id) });
    const login = unique("Вася");
    const { session_id } = await c.register(login, "password123");
    expect(session_id).toMatch(/^[0-9a-f]{40}$/);
    expect(c.session).toBe(session_id);
    expect(await c.info()).toEqual({ id: expect.any(Number), login });
    await c.logout();
    expect(c.session).toBeNull();
    expect(seen).toEqual([session_id, null]);
    const again = new EchatClient({ baseUrl: s.url, session: session_id });
    expect((await apiError(again.info())).code).toBe("unauthorized");
  });

  test("errors are ApiErrors with the status, the documented code and the server's message", async () => {
    const c = new EchatClient({ baseUrl: s.url });
    const cases: [Promise<unknown>, number, ErrorCode][] = [
      [c.register("", "password123"), 422, "invalid_login"],
      [c.register(unique("short"), "short"), 422, "invalid_password"],
      [c.login(unique("nobody"), "password123"), 422, "user_not_found"],
      [c.info(), 401, "unauthorized"],
    ];
    for (const [call, status, code] of cases) {
      const e = await apiError(call);
      expect({ status: e.status, code: e.code }).toEqual({ status, code });
      expect(e.message).toBe(ERRORS[code][1]);
    }
    const { c: alice } = await signedUp("alice");
    const more: [Promise<unknown>, ErrorCode][] = [
      [alice.getRoom(999999), "room_not_found"],
      [alice.messages(999999), "room_not_found"],
      [alice.createRoom([{ login: unique("ghost") }]), "user_not_found"],
      [alice.listRooms({ limit: 0 }), "invalid_query"],
      [alice.changePassword("not the password", "password456"), "wrong_credentials"],
    ];
    for (const [call, code] of more) expect((await apiError(call)).code).toBe(code);
    const room = await alice.createRoom([]);
    expect((await apiError(alice.messages(room.id, { before: 5, after: 1 }))).code).toBe("invalid_query");
  });

  test("a 401 on a call made with a session tells onUnauthorized; one made without does not", async () => {
    let told = 0;
    const stale = new EchatClient({ baseUrl: s.url, session: "0".repeat(40), onUnauthorized: () => told++ });
    await apiError(stale.info());
    expect(told).toBe(1);
    const none = new EchatClient({ baseUrl: s.url, onUnauthorized: () => told++ });
    await apiError(none.info());
    expect(told).toBe(1);
  });

  test("a 429 carries Retry-After in seconds", async () => {
    const limited = await startServer({ config: { limits: true, searchesPerMinute: 1 } });
    try {
      const c = new EchatClient({ baseUrl: limited.url });
      await c.register(unique("searcher"), "password123");
      expect(await c.searchUsers("searcher")).toHaveLength(1);
      const e = await apiError(c.searchUsers("searcher"));
      expect({ status: e.status, code: e.code }).toEqual({ status: 429, code: "rate_limited" });
      expect(e.retryAfter).toBeGreaterThan(0);
      expect(e.retryAfter).toBeLessThanOrEqual(60);
    } finally {
      await limited.stop();
    }
  });

  test("no server to answer is a NetworkError", async () => {
    const gone = await startServer();
    await gone.stop();
    const e = await new EchatClient({ baseUrl: gone.url }).health().catch((e: unknown) => e);
    expect(e).toBeInstanceOf(NetworkError);
  });

  test("the transport answers any status as {status, headers, body} without throwing", async () => {
    const c = new EchatClient({ baseUrl: s.url });
    const r = await c.request("DELETE", "/v1/info");
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toContain("GET");
    expect(r.body).toEqual({ error: { code: "method_not_allowed", message: expect.any(String) } });
    const raw = await c.request("POST", "/v1/login", { raw: "not json" });
    expect((raw.body as any).error.code).toBe("invalid_json");
  });

  test("rooms: create by id or login, get, list in pages by the Link cursor, and all of them", async () => {
    const { c: alice, me } = await signedUp("alice");
    const { me: bob } = await signedUp("bob");
    const byId = await alice.createRoom([{ id: bob.id }]);
    expect(byId.users).toEqual([me, bob]);
    expect(await alice.createRoom([{ login: bob.login }])).toEqual(byId); // idempotent by member set
    expect(await alice.getRoom(byId.id)).toEqual(byId);
    for (let i = 0; i < 4; i++) await alice.createRoom([{ id: (await signedUp("peer")).me.id }]);
    const first = await alice.listRooms({ limit: 2 });
    expect(first.rooms).toHaveLength(2);
    expect(first.next).toMatch(/^\d+_\d+$/);
    const second = await alice.listRooms({ limit: 2, before: first.next! });
    expect(second.rooms.map((r) => r.id)).not.toContain(first.rooms[0]!.id);
    const all = await alice.allRooms(2);
    expect(all).toHaveLength(5);
    expect(new Set(all.map((r) => r.id)).size).toBe(5);
    expect(all.find((r) => r.id === byId.id)).toMatchObject({ last_message: null, unread: 0 });
  });

  test("users search, health and readiness answer typed", async () => {
    const { c, me } = await signedUp("Searchable");
    expect(await c.searchUsers(me.login.toLowerCase())).toEqual([me]);
    expect(await c.health()).toEqual({ status: "ok" });
    expect(await c.ready()).toEqual({ status: "ok", database: "ok" });
  });
});
