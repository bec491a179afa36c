// A version 4 database (SQLite or PostgreSQL) migrates to version 5: its sessions keep working and gain
// public ids, its users are neither admins nor disabled, and the schema equals a fresh one.
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeInvite, registerWith, setupCode, startLogged } from "./support/admin.ts";
import { call, createRoom, register } from "./support/http.ts";
import { rewindPostgresTo4, rewindSqliteTo4 } from "./support/old-schema.ts";
import { dropDatabase, freshDatabase, opensSqliteFile, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";
import { POSTGRES_MIGRATIONS } from "../lib/store/postgres/migrations.ts";
import { SQLITE_MIGRATIONS } from "../lib/store/sqlite/migrations.ts";

// Runs the same scenario on a store given a way to rewind it; returns nothing, asserts through the API.
async function migratesFrom4(databaseUrl: string, rewind: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "echat-v4-"));
  const config = { databaseUrl };
  let s = await startServer({ dir, config });
  try {
    const [alice, bob] = [await register(s.url, "alice"), await register(s.url, "bob")];
    const room = await createRoom(s.url, alice, [bob]);
    const sock = await Socket.open(chatUrl(s, room, alice));
    const [sent] = await sendAll(sock, ["before the migration"]);
    await sock.close();
    await s.stop();
    await rewind(dir);
    const logged = await startLogged({ dir, config });
    s = logged.s;
    expect((await call(s.url, "GET", "/v1/info", { session: alice.session })).body).toEqual({
      id: alice.id,
      login: "alice",
      admin: false,
    });
    const mine = await call(s.url, "GET", "/v1/sessions", { session: alice.session });
    expect(mine.body).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        created_at: expect.any(String),
        last_used_at: expect.any(String),
        user_agent: null,
        address: null,
        current: true,
      },
    ]);
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: bob.session });
    expect(history.body).toEqual([sent]);
    // No admin came through the migration: the setup link is printed and makes one.
    const root = await registerWith(s.url, "root", await setupCode(logged.sink));
    await registerWith(s.url, "carol", (await makeInvite(s.url, root)).code);
    const users = await call(s.url, "GET", "/v1/admin/users", { session: root.session });
    expect(users.body.find((u: any) => u.login === "alice")).toMatchObject({ admin: false, disabled: false });
    expect(users.body.find((u: any) => u.login === "alice").last_seen_at).not.toBeNull();
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const columns = (db: Database, table: string) =>
  db.query(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('${table}')`).all();
const indexes = (db: Database) =>
  db.query("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all();

test.skipIf(!opensSqliteFile("the v4 -> v5 migration test"))(
  "a version 4 SQLite database migrates to version 5 and equals a fresh one",
  async () => {
    await migratesFrom4("", async (dir) => {
      const db = new Database(join(dir, "echat.db"));
      rewindSqliteTo4(db);
      db.close();
    });
    // A database made at version 5, rewound to 4 and migrated, beside one made at version 5.
    const [migratedDir, pristineDir] = [
      mkdtempSync(join(tmpdir(), "echat-v5-")),
      mkdtempSync(join(tmpdir(), "echat-v5-")),
    ];
    for (const dir of [migratedDir, pristineDir]) await (await startServer({ dir })).stop();
    const rewound = new Database(join(migratedDir, "echat.db"));
    rewindSqliteTo4(rewound);
    rewound.close();
    await (await startServer({ dir: migratedDir })).stop();
    const [migrated, pristine] = [migratedDir, pristineDir].map(
      (d) => new Database(join(d, "echat.db"), { readonly: true }),
    );
    for (const table of ["users", "sessions", "invites"])
      expect(columns(migrated!, table)).toEqual(columns(pristine!, table));
    expect(indexes(migrated!)).toEqual(indexes(pristine!));
    expect(migrated!.query("PRAGMA user_version").get()).toEqual({ user_version: SQLITE_MIGRATIONS.version });
    for (const db of [migrated!, pristine!]) db.close();
    for (const d of [migratedDir, pristineDir]) rmSync(d, { recursive: true, force: true });
  },
  60_000,
);

test.skipIf(!needs("postgresql", TEST_DATABASE_URL !== ""))(
  "a version 4 PostgreSQL database migrates to version 5 and equals a fresh one",
  async () => {
    const databaseUrl = await freshDatabase();
    const pristineUrl = await freshDatabase();
    try {
      await migratesFrom4(databaseUrl, async () => {
        const sql = new SQL({ url: databaseUrl, max: 1 });
        await rewindPostgresTo4(sql);
        await sql.close();
      });
      const p = await startServer({ config: { databaseUrl: pristineUrl } });
      await p.stop();
      const describe = async (url: string) => {
        const sql = new SQL({ url, max: 1 });
        const cols = await sql`SELECT table_name, column_name, data_type, is_nullable, column_default
          FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('users', 'sessions', 'invites')
          ORDER BY table_name, ordinal_position`;
        const idx =
          await sql`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`;
        const [{ version }] = await sql`SELECT version FROM echat_schema`;
        await sql.close();
        return { cols: [...cols], idx: [...idx], version };
      };
      const [migrated, pristine] = [await describe(databaseUrl), await describe(pristineUrl)];
      expect(migrated).toEqual(pristine);
      expect(migrated.version).toBe(POSTGRES_MIGRATIONS.version);
    } finally {
      await dropDatabase(databaseUrl);
      await dropDatabase(pristineUrl);
    }
  },
  60_000,
);
