// Moving a community from the embedded SQLite to PostgreSQL: data made through the API on SQLite,
// copied with migrateToPostgres, then served from PostgreSQL looks exactly the same from outside.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToPostgres } from "../lib/cli/copy-to-postgres.ts";
import { run, SOURCE } from "./support/child.ts";
import { SERVED } from "../lib/store/postgres/store.ts";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";
import { download, upload } from "./support/files.ts";

const enabled = needs("postgresql", TEST_DATABASE_URL !== "");

describe.skipIf(!enabled)("migrating from SQLite to PostgreSQL", () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-migrate-"));
  let databaseUrl: string;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  test("keeps users, sessions, rooms, groups, messages with their ids and seqs, read markers; new ids follow the old ones", async () => {
    // On SQLite: three users, two rooms, messages (one with a NUL and a client_id), read markers.
    const lite = await startServer({ config: { databaseUrl: "" }, dir });
    const [alice, bob, carol] = (await Promise.all(
      ["alice", "Bob", "Кэрол"].map((l) => register(lite.url, l)),
    )) as Account[];
    const r1 = await createRoom(lite.url, alice!, [bob!]);
    const r2 = await createRoom(lite.url, carol!, [alice!, bob!]);
    const sa = await Socket.open(chatUrl(lite, r1, alice!));
    await sendAll(sa, ["hello", "with \u0000 inside", "third"]);
    const sc = await Socket.open(chatUrl(lite, r2, carol!, { events: "read" }));
    const [last] = await sendAll(sc, ["in the group"]);
    sc.send({ type: "read", message_id: last.id });
    await sc.next((f) => f.type === "read");
    await Promise.all([sa.close(), sc.close()]);
    // A public group with a member added and a topic set: creation, an addition and a topic: room events.
    const g = await call(lite.url, "POST", "/v1/rooms", {
      session: alice!.session,
      body: { name: "Группа", public: true, users: [] },
    });
    await call(lite.url, "POST", `/v1/rooms/${g.body.id}/users`, {
      session: alice!.session,
      body: { users: [{ id: bob!.id }] },
    });
    await call(lite.url, "PATCH", `/v1/rooms/${g.body.id}`, { session: alice!.session, body: { topic: "t" } });
    // Schema 9: a member's notification level (the rooms' views below carry it).
    const level = { session: bob!.session, body: { notify: "none" } };
    expect((await call(lite.url, "PUT", `/v1/rooms/${r2}/settings`, level)).body).toEqual({
      notify: "none",
      retention: null,
    });
    // Schema 11: a room's retention (the rooms' views below carry it).
    const keep = { session: alice!.session, body: { retention: 0 } };
    expect((await call(lite.url, "PUT", `/v1/rooms/${g.body.id}/settings`, keep)).body.retention).toBe(0);
    // Schema 5: an admin, her invite, and sessions with public ids.
    expect((await run(SOURCE, ["user", "admin", "alice", "on", "--db", join(dir, "echat.db")])).code).toBe(0);
    const invite = (await call(lite.url, "POST", "/v1/invites", { session: alice!.session, body: { uses: 3 } })).body;
    // Schema 10: bob's push subscription (and the VAPID keys in the settings, which GET /v1/push/key shows).
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const keys = {
      p256dh: Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url"),
      auth: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url"),
    };
    const sub = { session: bob!.session, body: { endpoint: "https://push.example.com/bob", keys } };
    expect((await call(lite.url, "POST", "/v1/push/subscriptions", sub)).status).toBe(200);
    const view = async (base: string) => ({
      invites: (await call(base, "GET", "/v1/invites", { session: alice!.session })).body,
      sessions: (await call(base, "GET", "/v1/sessions", { session: bob!.session })).body,
      info: await Promise.all(
        [alice, bob, carol].map((u) => call(base, "GET", "/v1/info", { session: u!.session }).then((r) => r.body)),
      ),
      rooms: await Promise.all(
        [alice, bob, carol].map((u) => call(base, "GET", "/v1/rooms", { session: u!.session }).then((r) => r.body)),
      ),
      history: await Promise.all(
        [r1, r2].map((r) =>
          call(base, "GET", `/v1/rooms/${r}/messages`, { session: alice!.session }).then((x) => x.body),
        ),
      ),
      search: (await call(base, "GET", "/v1/users?q=b", { session: carol!.session })).body,
      pushKey: (await call(base, "GET", "/v1/push/key", { session: carol!.session })).body,
      directory: (await call(base, "GET", "/v1/rooms/public", { session: carol!.session })).body,
      frames: await (async () => {
        const sock = await Socket.open(
          chatUrl({ wsUrl: base.replace(/^http/, "ws") }, g.body.id, bob!, { events: "members", after: 0 }),
        );
        const frames = await sock.take(3);
        await sock.close();
        return frames;
      })(),
    });
    const before = await view(lite.url);
    // Schema 8: an upload (its row; its bytes stay in the folder beside the database) and the file secret.
    const file = (await upload(lite.url, alice!, r1, "bytes", { name: "a.txt", type: "text/plain" })).body;

    // `echat migrate`, while the SQLite server still runs.
    databaseUrl = await freshDatabase();
    const r = await run(SOURCE, ["migrate", "--db", join(dir, "echat.db"), "--to", databaseUrl]);
    const out = r.stdout;
    expect(r).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(
        "copied 3 users, 3 sessions, 3 rooms, 7 room_members, 4 messages, 6 room_events, 1 invites",
      ),
    });
    expect(out).toContain("1 files, 2 settings, 1 push_subscriptions");
    await lite.stop();

    const pg = await startServer({ config: { databaseUrl }, dir });
    try {
      expect(await view(pg.url)).toEqual(before);
      // The same secret signs on PostgreSQL: the URL made on SQLite still serves the bytes.
      expect((await download(pg.url, file.url)).status).toBe(200);
      expect(before.info[0].admin).toBe(true);
      expect(before.invites).toHaveLength(1);
      expect(
        (
          await call(pg.url, "POST", "/v1/register", {
            body: { login: "eve", password: "password123", invite: invite.code },
          })
        ).status,
      ).toBe(200);
      // Sequences moved past the copied ids: new rows get new ids, and the login index still folds case.
      const dave = await register(pg.url, "dave");
      expect(dave.id).toBe(5); // after eve
      expect(
        (await call(pg.url, "POST", "/v1/register", { body: { login: "BOB", password: "password123" } })).body.error
          .code,
      ).toBe("user_already_exists");
      const s = await Socket.open(chatUrl(pg, r1, bob!));
      const [next] = await sendAll(s, ["after the move"]);
      expect(next).toMatchObject({ id: 5, seq: 5 }); // the room's order goes on: creation, three messages, this
      expect(await createRoom(pg.url, dave, [alice!])).toBe(4);
      await s.close();
    } finally {
      await pg.stop();
    }
  });

  test("echat migrate without --to is a usage error", async () => {
    const r = await run(SOURCE, ["migrate", "--db", join(dir, "echat.db")]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toContain("--to postgres://");
  });

  test("echat migrate takes the target from ECHAT_MIGRATE_TO, so the password stays out of the process list", async () => {
    const target = await freshDatabase();
    try {
      const r = await run(SOURCE, ["migrate", "--db", join(dir, "echat.db")], { env: { ECHAT_MIGRATE_TO: target } });
      expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining("copied 3 users") });
      const help = await run(SOURCE, ["migrate", "--help"]);
      expect(help.stdout + help.stderr).toContain("ECHAT_MIGRATE_TO");
    } finally {
      await dropDatabase(target);
    }
  });

  test("refuses a database that already holds data", async () => {
    const target = await freshDatabase();
    const s = await startServer({ config: { databaseUrl: target } });
    await register(s.url, "someone");
    await s.stop();
    try {
      await expect(migrateToPostgres(join(dir, "echat.db"), target)).rejects.toThrow("not empty");
    } finally {
      await dropDatabase(target);
    }
  });

  test("refuses a database an instance is serving, even an empty one; takes it once the instance stops", async () => {
    const target = await freshDatabase();
    try {
      const s = await startServer({ config: { databaseUrl: target } });
      try {
        await expect(migrateToPostgres(join(dir, "echat.db"), target)).rejects.toThrow(SERVED);
        expectError(
          await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } }),
          422,
          "user_not_found",
        );
      } finally {
        await s.stop();
      }
      expect((await migrateToPostgres(join(dir, "echat.db"), target)).users).toBeGreaterThan(0);
    } finally {
      await dropDatabase(target);
    }
  });
});
