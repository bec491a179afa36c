// Redis going away: instances keep serving, deliver locally, catch up from the database, and resume
// fan-out when Redis is back. Uses a private redis-server on its own port, so nothing else is disturbed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Subprocess } from "bun";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";
import { freePort, startRedis } from "./support/redis.ts";
import { needs } from "./support/tools.ts";

const enabled =
  needs("postgresql", TEST_DATABASE_URL !== "") && needs("redis-server", Bun.which("redis-server") !== null);

describe.skipIf(!enabled)("Redis lost and back", () => {
  let a: TestServer, b: TestServer, redis: Subprocess, port: number, databaseUrl: string;
  let alice: Account, bob: Account, carol: Account;
  beforeAll(async () => {
    port = freePort();
    redis = await startRedis(port);
    databaseUrl = await freshDatabase();
    const redisUrl = `redis://127.0.0.1:${port}`;
    [a, b] = await Promise.all([
      startServer({ config: { databaseUrl, redisUrl } }),
      startServer({ config: { databaseUrl, redisUrl } }),
    ]);
    [alice, bob, carol] = (await Promise.all([
      register(a.url, "alice"),
      register(b.url, "bob"),
      register(a.url, "carol"),
    ])) as [Account, Account, Account];
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    redis?.kill("SIGKILL");
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  test("instances keep serving without Redis, miss nothing, and fan out again once it is back", async () => {
    const room = await createRoom(a.url, alice, [bob, carol]);
    const sa = await Socket.open(chatUrl(a, room, alice));
    const sc = await Socket.open(chatUrl(a, room, carol, { events: "typing" }));
    const sb = await Socket.open(chatUrl(b, room, bob));
    const [before] = await sendAll(sa, ["before"]);
    expect(await sb.next(isMessage)).toEqual(before);

    redis.kill("SIGKILL");
    await redis.exited;
    const during = await sendAll(sa, ["during 1", "during 2"]);
    // Same instance: delivered at once. REST on both instances still answers.
    expect((await sc.take(3, isMessage)).map((m) => m.text)).toEqual(["before", "during 1", "during 2"]);
    expect((await call(b.url, "GET", "/v1/info", { session: bob.session })).status).toBe(200);
    // Other instance: read from the database by the sweep, in order.
    expect(await sb.take(2, isMessage)).toEqual(during);

    redis = await startRedis(port);
    // Typing travels only through the broker, so it shows that fan-out is back. Each try moves B's
    // clock past the typing limit; tries made before the reconnect are simply lost.
    const sbTyping = await Socket.open(chatUrl(b, room, bob, { events: "typing" }));
    let typed: any;
    for (let i = 0; i < 40 && !typed; i++) {
      b.clock.advance(3000);
      sbTyping.send({ type: "typing" });
      typed = await sc.next((f) => f.type === "typing", 500).catch(() => undefined);
    }
    expect(typed).toEqual({ type: "typing", room_id: room, user_id: bob.id });
    const [after] = await sendAll(sa, ["after"]);
    expect(await sb.next(isMessage)).toEqual(after);
    await Promise.all([sa, sb, sc, sbTyping].map((s) => s.close()));
  }, 30000);
});

describe.skipIf(!enabled)("Redis away at start", () => {
  test("instances start and serve without it, and fan out through it once it is up", async () => {
    const port = freePort();
    const databaseUrl = await freshDatabase();
    const redisUrl = `redis://127.0.0.1:${port}`;
    const [a, b] = await Promise.all([
      startServer({ config: { databaseUrl, redisUrl } }),
      startServer({ config: { databaseUrl, redisUrl } }),
    ]);
    let redis: Subprocess | undefined;
    try {
      const [alice, bob] = (await Promise.all([register(a.url, "alice"), register(b.url, "bob")])) as [
        Account,
        Account,
      ];
      const room = await createRoom(a.url, alice, [bob]);
      const sa = await Socket.open(chatUrl(a, room, alice, { events: "typing" }));
      const sb = await Socket.open(chatUrl(b, room, bob, { events: "typing" }));
      const [away] = await sendAll(sa, ["while Redis is away"]);
      expect(await sb.next(isMessage)).toEqual({ type: "message", ...away }); // read from the database
      redis = await startRedis(port);
      let typed: any;
      for (let i = 0; i < 40 && !typed; i++) {
        b.clock.advance(3000);
        sb.send({ type: "typing" });
        typed = await sa.next((f) => f.type === "typing", 500).catch(() => undefined);
      }
      expect(typed).toEqual({ type: "typing", room_id: room, user_id: bob.id });
      await Promise.all([sa.close(), sb.close()]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      redis?.kill("SIGKILL");
      await dropDatabase(databaseUrl);
    }
  }, 30000);
});
