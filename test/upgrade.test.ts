// Upgrades and downgrades of the database schema, with real `echat` processes: a database from a newer
// echat is refused (exit 1, both versions named, no stack trace) and left alone; an older SQLite file is
// copied beside itself before it is upgraded, and the log says where; a failed upgrade changes nothing
// (SQLite: its transaction; PostgreSQL: one transaction under the advisory lock).
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMA_VERSION } from "../lib/store/migrations.ts";
import { run, SOURCE, startChild } from "./support/child.ts";
import { call, createRoom, register } from "./support/http.ts";
import { rewindTestDatabase } from "./support/old-schema.ts";
import { dropDatabase, opensSqliteFile, STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// A stopped server's database of the suite's store, with one user, a room and a message in it.
async function filledDatabase(): Promise<TestServer & { env: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), "echat-upgrade-"));
  dirs.push(dir);
  const t = await startServer({ dir });
  const [alice, bob] = [await register(t.url, "alice"), await register(t.url, "bob")];
  const room = await createRoom(t.url, alice, [bob]);
  const socket = await Socket.open(chatUrl(t, room, alice));
  await sendAll(socket, ["before"]);
  await socket.close();
  await t.stop();
  const env: Record<string, string> = t.databaseUrl
    ? { DATABASE_URL: t.databaseUrl, ECHAT_DB: t.db } // ECHAT_DB: the files folder beside it, not in the working dir
    : { ECHAT_DB: t.db, DATABASE_URL: "" };
  return { ...t, env };
}

async function dropIfPostgres(t: TestServer) {
  if (t.databaseUrl) await dropDatabase(t.databaseUrl);
}

async function schemaVersion(t: TestServer): Promise<number> {
  if (!t.databaseUrl) {
    const db = new Database(t.db, { readonly: true });
    const { user_version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
    db.close();
    return user_version;
  }
  const sql = new SQL({ url: t.databaseUrl, max: 1 });
  const [{ version }] = await sql`SELECT version FROM echat_schema`;
  await sql.close();
  return version;
}

// What a newer echat leaves: the same tables, a higher version.
async function setSchemaVersion(t: TestServer, version: number) {
  if (!t.databaseUrl) {
    const db = new Database(t.db);
    db.run(`PRAGMA user_version = ${version}`);
    db.close();
    return;
  }
  const sql = new SQL({ url: t.databaseUrl, max: 1 });
  await sql`UPDATE echat_schema SET version = ${version}`;
  await sql.close();
}

const serve = ["serve", "--port", "0", "--host", "127.0.0.1"];

test("echat version names the schema version this echat reads and writes", async () => {
  const r = await run(SOURCE, ["version"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`(schema ${SCHEMA_VERSION}, `);
});

describe("a database from a newer echat", () => {
  test("serve and the CLI refuse it: exit 1, both versions and what to do on stderr, no stack trace; it stays as it was", async () => {
    const t = await filledDatabase();
    try {
      const newer = SCHEMA_VERSION + 1;
      await setSchemaVersion(t, newer);
      for (const args of [serve, ["user", "list"]]) {
        const r = await run(SOURCE, args, { env: t.env });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          `the database has schema version ${newer}, newer than this echat's ${SCHEMA_VERSION}`,
        );
        expect(r.stderr).toContain('restore the backup taken before the upgrade (docs/deploy.md, "Downgrading")');
        expect(r.stderr.trimEnd().split("\n")).toHaveLength(1); // one line: no stack trace
        expect(r.stdout).toBe("");
      }
      expect(await schemaVersion(t)).toBe(newer);
    } finally {
      await dropIfPostgres(t);
    }
  });
});

describe.skipIf(!opensSqliteFile("the backup-before-upgrade tests"))("upgrading an older SQLite database", () => {
  test("the file is first copied to <db>.v10.bak (0600, still version 10), the log says so, and the data is served", async () => {
    const t = await filledDatabase();
    await rewindTestDatabase(10, t.db, "");
    const child = await startChild(SOURCE, [], { env: t.env });
    try {
      const backup = `${t.db}.v10.bak`;
      const line = await child.waitFor((l) => l.includes("upgraded the database"));
      expect(line).toContain(`upgraded the database from schema 10 to ${SCHEMA_VERSION}`);
      expect(line).toContain(backup);
      expect(statSync(backup).mode & 0o777).toBe(0o600);
      const old = new Database(backup, { readonly: true });
      expect(old.query("PRAGMA user_version").get()).toEqual({ user_version: 10 });
      expect(old.query("SELECT CAST(text AS TEXT) AS text FROM messages").all()).toEqual([{ text: "before" }]);
      expect(old.query("SELECT name FROM sqlite_master WHERE name = 'push_queue'").all()).toEqual([]);
      old.close();
      const login = await call(child.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } });
      const rooms = await call(child.url, "GET", "/v1/rooms", { session: login.body.session_id });
      expect(rooms.status).toBe(200);
      expect(JSON.stringify(rooms.body)).toContain('"text":"before"');
    } finally {
      child.proc.kill("SIGTERM");
      await child.proc.exited;
      await dropIfPostgres(t);
    }
    expect(await schemaVersion(t)).toBe(SCHEMA_VERSION);
  });

  test("a failed upgrade is rolled back and says where the copy is; the next attempt copies to a new name", async () => {
    const t = await filledDatabase();
    await rewindTestDatabase(10, t.db, "");
    const db = new Database(t.db);
    db.run("CREATE TABLE push_queue (x INTEGER)"); // makes the 10 -> 11 step fail
    db.close();
    const failed = await run(SOURCE, serve, { env: t.env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `upgrading the database from schema 10 to ${SCHEMA_VERSION} failed and was rolled back`,
    );
    expect(failed.stderr).toContain(`a copy taken before is at ${t.db}.v10.bak`);
    expect(failed.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(await schemaVersion(t)).toBe(10);
    const check = new Database(t.db);
    const columns = check.query<{ name: string }, []>("SELECT name FROM pragma_table_info('rooms')").all();
    expect(columns.map((c) => c.name)).not.toContain("retention"); // the step's first statement was undone
    check.run("DROP TABLE push_queue");
    check.close();
    const again = await run(SOURCE, ["user", "list"], { env: t.env }); // the CLI upgrades too
    expect(again.code).toBe(0);
    expect(existsSync(`${t.db}.v10.2.bak`)).toBe(true);
    expect(await schemaVersion(t)).toBe(SCHEMA_VERSION);
    await dropIfPostgres(t);
  });
});

describe.skipIf(STORE !== "postgres")("upgrading an older PostgreSQL database", () => {
  test("a failed upgrade leaves no part of it (one transaction); then two instances starting together upgrade it once", async () => {
    const t = await filledDatabase();
    try {
      await rewindTestDatabase(10, t.db, t.databaseUrl);
      const sql = new SQL({ url: t.databaseUrl, max: 1 });
      await sql`CREATE TABLE push_queue (x integer)`; // makes the 10 -> 11 step fail after its first statement
      const failed = await run(SOURCE, serve, { env: t.env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(
        `upgrading the database from schema 10 to ${SCHEMA_VERSION} failed and was rolled back`,
      );
      expect(failed.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(await schemaVersion(t)).toBe(10);
      const columns = await sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'rooms'`;
      expect(columns.map((c: { column_name: string }) => c.column_name)).not.toContain("retention");
      await sql`DROP TABLE push_queue`;
      await sql.close();
      const children = await Promise.all([1, 2].map(() => startChild(SOURCE, [], { env: t.env })));
      try {
        const upgraded = children.flatMap((c) => c.lines.filter((l) => l.includes("upgraded the database")));
        expect(upgraded).toHaveLength(1);
        expect(upgraded[0]).toContain(`from schema 10 to ${SCHEMA_VERSION}`);
        for (const c of children) expect((await call(c.url, "GET", "/readyz")).status).toBe(200);
      } finally {
        for (const c of children) c.proc.kill("SIGTERM");
        await Promise.all(children.map((c) => c.proc.exited));
      }
      expect(await schemaVersion(t)).toBe(SCHEMA_VERSION);
    } finally {
      await dropIfPostgres(t);
    }
  });
});
