// PostgreSQL-only behaviour: several instances on one database, and a database that goes away.
// The rest of the API is covered by running the whole suite with ECHAT_TEST_STORE=postgres.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { $ } from "bun";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";

const enabled = needs("postgresql", TEST_DATABASE_URL !== "");

describe.skipIf(!enabled)("two instances on one PostgreSQL database", () => {
  let a: TestServer, b: TestServer, databaseUrl: string;
  let alice: Account, bob: Account;
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    // Started together: the schema is applied once, under the advisory lock.
    [a, b] = await Promise.all([startServer({ config: { databaseUrl } }), startServer({ config: { databaseUrl } })]);
    alice = await register(a.url, "alice");
    bob = await register(b.url, "bob");
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  test("an account made on one instance logs in on the other, in any case", async () => {
    const r = await call(b.url, "POST", "/v1/login", { body: { login: "ALICE", password: "password123" } });
    expect(r.status).toBe(200);
    const taken = await call(b.url, "POST", "/v1/register", { body: { login: "Alice", password: "password123" } });
    expectError(taken, 422, "user_already_exists");
  });

  test("the same room created on both instances at once is one room", async () => {
    const carol = await register(a.url, "carol");
    const rooms = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(i % 2 ? a.url : b.url, "POST", "/v1/rooms", {
          session: alice.session,
          body: { users: [{ id: bob.id }, { id: carol.id }] },
        }),
      ),
    );
    expect(rooms.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(new Set(rooms.map((r) => r.body.id)).size).toBe(1);
  });

  test("a client_id sent to both instances is stored once", async () => {
    const room = await createRoom(a.url, alice, [bob]);
    const [sa, sb] = await Promise.all([Socket.open(chatUrl(a, room, alice)), Socket.open(chatUrl(b, room, alice))]);
    sa.send({ text: "once", client_id: "same" });
    sb.send({ text: "once", client_id: "same" });
    const [ackA, ackB] = await Promise.all([
      sa.next((f) => f.client_id === "same"),
      sb.next((f) => f.client_id === "same"),
    ]);
    expect(ackA.id).toBe(ackB.id);
    const history = await call(a.url, "GET", `/v1/rooms/${room}/messages`, { session: bob.session });
    expect(history.body.filter((m: any) => m.client_id === "same")).toHaveLength(1);
    await Promise.all([sa.close(), sb.close()]);
  });

  test("a reader paging with after= while both instances write misses nothing", async () => {
    const room = await createRoom(a.url, alice, [bob, await register(b.url, "dave")]);
    const [sa, sb] = await Promise.all([Socket.open(chatUrl(a, room, alice)), Socket.open(chatUrl(b, room, bob))]);
    const seen: number[] = [];
    let writing = true;
    // Polls as fast as it can; an id that committed after a larger one would be skipped for good.
    const reader = (async () => {
      let after = 0;
      for (;;) {
        const done = !writing;
        const page = await call(b.url, "GET", `/v1/rooms/${room}/messages?after=${after}&limit=200`, {
          session: bob.session,
        });
        for (const m of page.body) seen.push(m.id);
        after = seen.at(-1) ?? after;
        if (done && page.body.length === 0) return;
      }
    })();
    const texts = Array.from({ length: 150 }, (_, i) => `m${i}`);
    const acks = (await Promise.all([sendAll(sa, texts), sendAll(sb, texts)])).flat();
    writing = false;
    await reader;
    expect(seen).toEqual(acks.map((m) => m.id).sort((x, y) => x - y));
    await Promise.all([sa.close(), sb.close()]);
  });
});

// Restarts the local cluster: run only where the test may own PostgreSQL (CI, or on request).
const canRestart = enabled && (process.env.CI === "true" || process.env.ECHAT_TEST_PG_RESTART === "1");
const cluster = async () => (await $`pg_lsclusters -h`.text()).trim().split("\n")[0]!.split(/\s+/).slice(0, 2);

describe.skipIf(!canRestart)("a lost database", () => {
  test("gives 503 unavailable while PostgreSQL is down and recovers by itself", async () => {
    const databaseUrl = await freshDatabase();
    const s = await startServer({ config: { databaseUrl } });
    const [version, name] = await cluster();
    try {
      const alice = await register(s.url, "alice");
      const room = await createRoom(s.url, alice, []);
      const sock = await Socket.open(chatUrl(s, room, alice));
      await $`pg_ctlcluster ${version} ${name} stop -m fast`.quiet();
      // (the session itself may come from the session cache: the room list needs the database)
      expectError(await call(s.url, "GET", "/v1/rooms", { session: alice.session }), 503, "unavailable");
      const login = await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } });
      expectError(login, 503, "unavailable");
      sock.send({ text: "while down", client_id: "down-1" });
      expect(await sock.next((f) => f.client_id === "down-1")).toEqual({
        error: { code: "unavailable", message: expect.any(String) },
        client_id: "down-1",
      });
      await $`pg_ctlcluster ${version} ${name} start`.quiet();
      const up = await call(s.url, "GET", "/v1/rooms", { session: alice.session });
      expect(up.body.map((r: any) => r.id)).toEqual([room]);
      const [stored] = await sendAll(sock, ["after the restart"]);
      expect(stored.text).toBe("after the restart");
      await sock.close();
    } finally {
      await $`pg_ctlcluster ${version} ${name} start`.quiet().nothrow();
      await s.stop();
      await dropDatabase(databaseUrl);
    }
  });
});
