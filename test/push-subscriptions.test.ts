// Web Push, the server's side of subscribing: GET /v1/push/key gives the VAPID public key, made at the first
// start and kept in the database (the settings table), so that a restart and a second instance give the same;
// POST and DELETE /v1/push/subscriptions register and remove a session's subscriptions, which go with the
// session. What is registered is read from the database (pushRows); what is sent to it: test/push-send.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, EchatClient } from "../client/index.ts";
import { startWithAdmin } from "./support/admin.ts";
import { type Account, call, expectError, register } from "./support/http.ts";
import { rewindTestDatabase } from "./support/old-schema.ts";
import { pushRows, sessionHash, subscriptionKeys } from "./support/push-rows.ts";
import { dropDatabase, freshDatabase, STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";

let s: TestServer;
let root: Account;
let ann: Account;

beforeAll(async () => {
  ({ s, admin: root } = await startWithAdmin({ config: { pushAllowLoopback: true } }));
  ann = await register(s.url, "ann");
});
afterAll(() => s.stop());

// A browser's subscription: a real P-256 public key and auth secret, and an endpoint of our own.
let counter = 0;
async function newSubscription(endpoint = `https://push.example.com/send/${++counter}`) {
  return { endpoint, expirationTime: null, keys: await subscriptionKeys() };
}

const subscribe = (who: { session: string }, body: unknown, t = s) =>
  call(t.url, "POST", "/v1/push/subscriptions", { session: who.session, body });
const unsubscribe = (who: { session: string }, body: unknown, t = s) =>
  call(t.url, "DELETE", "/v1/push/subscriptions", { session: who.session, body });
const login = async (who: Account) =>
  (await call(s.url, "POST", "/v1/login", { body: { login: who.login, password: "password123" } })).body
    .session_id as string;

const key = async (t: TestServer, who: Account) => {
  const r = await call(t.url, "GET", "/v1/push/key", { session: who.session });
  expect(r.status).toBe(200);
  return r.body.key as string;
};

test("GET /v1/push/key: a raw uncompressed P-256 public key, base64url, to any logged-in user", async () => {
  const k = await key(s, ann);
  expect(k).toMatch(/^[A-Za-z0-9_-]{87}$/);
  const raw = Buffer.from(k, "base64url");
  expect(raw.length).toBe(65);
  expect(raw[0]).toBe(4);
  // A point on the curve: WebCrypto refuses anything else.
  await crypto.subtle.importKey("raw", raw, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
  const ben = await register(s.url, "ben");
  expect(await key(s, ben)).toBe(k);
  const client = new EchatClient({ baseUrl: s.url, session: ben.session });
  expect(await client.pushKey()).toBe(k);
});

test("GET /v1/push/key without a session, or with an ended one: 401 unauthorized", async () => {
  expectError(await call(s.url, "GET", "/v1/push/key"), 401, "unauthorized");
  const ben = await register(s.url, "ben2");
  expect((await call(s.url, "POST", "/v1/logout", { session: ben.session })).status).toBe(200);
  expectError(await call(s.url, "GET", "/v1/push/key", { session: ben.session }), 401, "unauthorized");
});

test("the key is made once: the same after a restart, and on a second instance (PostgreSQL)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-vapid-"));
  const databaseUrl = STORE === "postgres" ? await freshDatabase(dir) : "";
  let t = await startServer({ dir, config: { databaseUrl } });
  let second: TestServer | null = null;
  try {
    const cat = await register(t.url, "cat");
    const first = await key(t, cat);
    expect(first).not.toBe(await key(s, ann)); // each database its own
    await t.stop();
    t = await startServer({ dir, config: { databaseUrl } });
    expect(await key(t, cat)).toBe(first);
    // SQLite is served by one process at a time; PostgreSQL by any number of instances.
    if (databaseUrl) {
      second = await startServer({ dir: join(dir, "b"), config: { databaseUrl } });
      expect(await key(second, cat)).toBe(first);
    }
  } finally {
    await second?.stop();
    await t.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("POST /v1/push/subscriptions", () => {
  test("registers the subscription for the calling session; 200 {}", async () => {
    const sub = await newSubscription();
    const r = await subscribe(ann, sub);
    expect(r).toMatchObject({ status: 200, body: {} });
    expect((await pushRows(s))[sub.endpoint]).toEqual({
      user: ann.id,
      session: sessionHash(ann.session),
      p256dh: sub.keys.p256dh,
    });
  });

  test("the same endpoint again replaces it: new keys, the new session, even another user's", async () => {
    const first = await newSubscription();
    expect((await subscribe(ann, first)).status).toBe(200);
    const again = { ...(await newSubscription(first.endpoint)) };
    const other = await login(ann);
    expect((await subscribe({ session: other }, again)).status).toBe(200);
    expect((await pushRows(s))[first.endpoint]).toEqual({
      user: ann.id,
      session: sessionHash(other),
      p256dh: again.keys.p256dh,
    });
    const bob = await register(s.url, "bob");
    expect((await subscribe(bob, again)).status).toBe(200);
    expect((await pushRows(s))[first.endpoint]!.user).toBe(bob.id);
  });

  test("a user keeps the 10 newest: the eleventh drops the oldest", async () => {
    const cid = await register(s.url, "cid");
    const subs = [];
    for (let i = 0; i < 11; i++) {
      subs.push(await newSubscription());
      expect((await subscribe(cid, subs.at(-1))).status).toBe(200);
      s.clock.advance(1000); // distinct registration times
    }
    const rows = await pushRows(s);
    const mine = Object.keys(rows).filter((e) => rows[e]!.user === cid.id);
    expect(mine.sort()).toEqual(
      subs
        .slice(1)
        .map((x) => x.endpoint)
        .sort(),
    );
  });

  test("http: on 127.0.0.0/8 with --push-allow-loopback", async () => {
    const sub = await newSubscription("http://127.0.0.1:9/push/1");
    expect((await subscribe(ann, sub)).status).toBe(200);
  });

  test.each([
    ["http: elsewhere", "http://push.example.com/x"],
    ["not a URL", "push.example.com/x"],
    ["a private address", "https://10.0.0.1/x"],
    ["link-local", "https://169.254.169.254/latest"],
    ["IPv6 loopback", "https://[::1]/x"],
    ["credentials in the URL", "https://user:pw@push.example.com/x"],
    ["too long", `https://push.example.com/${"x".repeat(2048)}`],
  ])("an endpoint that is %s: 422 invalid_endpoint", async (_, endpoint) => {
    expectError(await subscribe(ann, await newSubscription(endpoint)), 422, "invalid_endpoint");
    expect((await pushRows(s))[endpoint]).toBeUndefined();
  });

  test("without --push-allow-loopback, loopback is refused as any other: 422 invalid_endpoint", async () => {
    const t = await startServer();
    try {
      const dan = await register(t.url, "dan");
      for (const endpoint of ["http://127.0.0.1:9/x", "https://127.0.0.1/x", "https://localhost/x"])
        expectError(await subscribe(dan, await newSubscription(endpoint), t), 422, "invalid_endpoint");
    } finally {
      await t.stop();
    }
  });

  test("a body that is not a PushSubscription, or bad keys: 422 invalid_subscription", async () => {
    const good = await newSubscription();
    const point = Buffer.from(good.keys.p256dh, "base64url");
    const offCurve = Buffer.from(point);
    offCurve[64]! ^= 1;
    const bad: unknown[] = [
      {},
      { endpoint: good.endpoint },
      { keys: good.keys },
      { endpoint: 5, keys: good.keys },
      { endpoint: good.endpoint, keys: [] },
      { endpoint: good.endpoint, keys: { p256dh: good.keys.p256dh } },
      { endpoint: good.endpoint, keys: { auth: good.keys.auth } },
      { endpoint: good.endpoint, keys: { p256dh: 1, auth: good.keys.auth } },
      { endpoint: good.endpoint, keys: { ...good.keys, p256dh: "not base64url!" } },
      { endpoint: good.endpoint, keys: { ...good.keys, p256dh: point.subarray(1).toString("base64url") } }, // 64 bytes
      { endpoint: good.endpoint, keys: { ...good.keys, p256dh: offCurve.toString("base64url") } }, // not on P-256
      { endpoint: good.endpoint, keys: { ...good.keys, auth: Buffer.alloc(15).toString("base64url") } },
      { endpoint: good.endpoint, keys: { ...good.keys, auth: Buffer.alloc(17).toString("base64url") } },
    ];
    for (const body of bad) expectError(await subscribe(ann, body), 422, "invalid_subscription");
    expect((await pushRows(s))[good.endpoint]).toBeUndefined();
  });

  test("401 without a session, 403 from a foreign origin, 422 invalid_json, 413 too large", async () => {
    const body = await newSubscription();
    const path = "/v1/push/subscriptions";
    for (const method of ["POST", "DELETE"]) {
      expectError(await call(s.url, method, path, { body }), 401, "unauthorized");
      const headers = { origin: "https://evil.example" };
      expectError(await call(s.url, method, path, { session: ann.session, body, headers }), 403, "forbidden_origin");
      expectError(await call(s.url, method, path, { session: ann.session, raw: "[1]" }), 422, "invalid_json");
      const raw = JSON.stringify({ ...body, pad: "x".repeat(64 * 1024) });
      expectError(await call(s.url, method, path, { session: ann.session, raw }), 413, "payload_too_large");
    }
    expect((await pushRows(s))[body.endpoint]).toBeUndefined();
  });
});

describe("DELETE /v1/push/subscriptions", () => {
  test("removes the caller's subscription; again, or someone else's, is 200 {} and changes nothing", async () => {
    const sub = await newSubscription();
    expect((await subscribe(ann, sub)).status).toBe(200);
    const eve = await register(s.url, "eve");
    expect(await unsubscribe(eve, { endpoint: sub.endpoint })).toMatchObject({ status: 200, body: {} });
    expect((await pushRows(s))[sub.endpoint]!.user).toBe(ann.id);
    expect(await unsubscribe(ann, { endpoint: sub.endpoint })).toMatchObject({ status: 200, body: {} });
    expect((await pushRows(s))[sub.endpoint]).toBeUndefined();
    expect(await unsubscribe(ann, { endpoint: sub.endpoint })).toMatchObject({ status: 200, body: {} });
  });

  test("without an endpoint string: 422 invalid_subscription", async () => {
    for (const body of [{}, { endpoint: 1 }, { endpoint: null }])
      expectError(await unsubscribe(ann, body), 422, "invalid_subscription");
  });
});

describe("a session's subscriptions end with it", () => {
  // A user with two sessions, each with a subscription.
  async function twoSubscribed(name: string) {
    const who = await register(s.url, name);
    const other = { ...who, session: await login(who) };
    const [a, b] = [await newSubscription(), await newSubscription()];
    expect((await subscribe(who, a)).status).toBe(200);
    expect((await subscribe(other, b)).status).toBe(200);
    return { who, other, a: a.endpoint, b: b.endpoint };
  }
  const present = async (...endpoints: string[]) => {
    const rows = await pushRows(s);
    return endpoints.map((e) => e in rows);
  };

  test("logout removes only that session's", async () => {
    const { who, a, b } = await twoSubscribed("lou");
    expect((await call(s.url, "POST", "/v1/logout", { session: who.session })).status).toBe(200);
    expect(await present(a, b)).toEqual([false, true]);
  });

  test("a password change removes the other sessions' and keeps the caller's", async () => {
    const { who, a, b } = await twoSubscribed("pat");
    const body = { old_password: "password123", new_password: "brand-new-pw" };
    expect((await call(s.url, "POST", "/v1/password", { session: who.session, body })).status).toBe(200);
    expect(await present(a, b)).toEqual([true, false]);
  });

  test("ending a session (DELETE /v1/sessions/:id) removes its", async () => {
    const { who, other, a, b } = await twoSubscribed("ned");
    const list = (await call(s.url, "GET", "/v1/sessions", { session: who.session })).body as any[];
    const theOther = list.find((x) => !x.current)!;
    expect((await call(s.url, "DELETE", `/v1/sessions/${theOther.id}`, { session: who.session })).status).toBe(200);
    expect(await present(a, b)).toEqual([true, false]);
    expectError(await subscribe(other, await newSubscription()), 401, "unauthorized");
  });

  test("disabling the user removes all of them", async () => {
    const { who, a, b } = await twoSubscribed("dis");
    const r = await call(s.url, "PATCH", `/v1/admin/users/${who.id}`, {
      session: root.session,
      body: { disabled: true },
    });
    expect(r.status).toBe(200);
    expect(await present(a, b)).toEqual([false, false]);
  });

  test("deleting the user removes all of them", async () => {
    const { who, a, b } = await twoSubscribed("del");
    expect((await call(s.url, "DELETE", `/v1/admin/users/${who.id}`, { session: root.session })).status).toBe(200);
    expect(await present(a, b)).toEqual([false, false]);
  });
});

test("the typed client: pushKey, subscribePush, unsubscribePush, and the new error codes", async () => {
  const client = new EchatClient({ baseUrl: s.url, session: ann.session });
  const sub = await newSubscription();
  await client.subscribePush(sub);
  expect((await pushRows(s))[sub.endpoint]!.user).toBe(ann.id);
  await client.unsubscribePush(sub.endpoint);
  expect((await pushRows(s))[sub.endpoint]).toBeUndefined();
  const refused = await client.subscribePush({ ...sub, endpoint: "https://192.168.1.1/x" }).catch((e) => e);
  expect(refused).toBeInstanceOf(ApiError);
  expect(refused.code).toBe("invalid_endpoint");
  const bad = await client.subscribePush({ ...sub, keys: { ...sub.keys, auth: "AAAA" } }).catch((e) => e);
  expect(bad.code).toBe("invalid_subscription");
});

test("a version 9 database gets the table, and subscriptions work after the upgrade", async () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-v9-"));
  const databaseUrl = STORE === "postgres" ? await freshDatabase(dir) : "";
  let t = await startServer({ dir, config: { databaseUrl } });
  try {
    const fay = await register(t.url, "fay");
    await t.stop();
    await rewindTestDatabase(9, t.db, databaseUrl);
    t = await startServer({ dir, config: { databaseUrl } });
    const sub = await newSubscription();
    expect((await subscribe(fay, sub, t)).status).toBe(200);
    expect((await pushRows(t))[sub.endpoint]!.user).toBe(fay.id);
  } finally {
    await t.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
});
