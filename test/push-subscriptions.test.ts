// Web Push, the server's side of subscribing: GET /v1/push/key gives the VAPID public key, made at the first
// start and kept in the database (the settings table), so that a restart and a second instance give the same.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { EchatClient } from "../client/index.ts";
import { type Account, call, expectError, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";

let s: TestServer;
let ann: Account;

beforeAll(async () => {
  s = await startServer();
  ann = await register(s.url, "ann");
});
afterAll(() => s.stop());

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
