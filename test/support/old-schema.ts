// Turns a current database back into what an older echat left, so migration tests start from it.
// Opening the file or database here is only to rewind it; every assertion goes through the API.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../lib/config.ts";
import { dropDatabase, freshDatabase, STORE } from "./postgres.ts";
import { startServer, type TestServer } from "./server.ts";

// Version 10: no push queue nor room retention (version 11).
export function rewindSqliteTo10(db: Database) {
  db.run("DROP TABLE push_queue");
  db.run("ALTER TABLE rooms DROP COLUMN retention");
  db.run("PRAGMA user_version = 10");
}

export async function rewindPostgresTo10(sql: SQL) {
  await sql`DROP TABLE push_queue`;
  await sql`ALTER TABLE rooms DROP COLUMN retention`;
  await sql`UPDATE echat_schema SET version = 10`;
}

// Version 9: no push subscriptions (version 10).
export function rewindSqliteTo9(db: Database) {
  rewindSqliteTo10(db);
  db.run("DROP TABLE push_subscriptions");
  db.run("PRAGMA user_version = 9");
}

export async function rewindPostgresTo9(sql: SQL) {
  await rewindPostgresTo10(sql);
  await sql`DROP TABLE push_subscriptions`;
  await sql`UPDATE echat_schema SET version = 9`;
}

// Version 8: no notification levels (version 9).
export function rewindSqliteTo8(db: Database) {
  rewindSqliteTo9(db);
  db.run("ALTER TABLE room_members DROP COLUMN notify");
  db.run("PRAGMA user_version = 8");
}

export async function rewindPostgresTo8(sql: SQL) {
  await rewindPostgresTo9(sql);
  await sql`ALTER TABLE room_members DROP COLUMN notify`;
  await sql`UPDATE echat_schema SET version = 8`;
}

// Version 7: no files, settings nor rooms' file epoch (version 8).
export function rewindSqliteTo7(db: Database) {
  rewindSqliteTo8(db);
  for (const index of ["files_unattached", "files_user", "files_message"]) db.run(`DROP INDEX ${index}`);
  db.run("DROP TABLE files");
  db.run("DROP TABLE settings");
  db.run("ALTER TABLE rooms DROP COLUMN file_epoch");
  db.run("ALTER TABLE messages DROP COLUMN files");
  db.run("PRAGMA user_version = 7");
}

export async function rewindPostgresTo7(sql: SQL) {
  await rewindPostgresTo8(sql);
  await sql`DROP TABLE files`;
  await sql`DROP TABLE settings`;
  await sql`ALTER TABLE rooms DROP COLUMN file_epoch`;
  await sql`ALTER TABLE messages DROP COLUMN files`;
  await sql`UPDATE echat_schema SET version = 7`;
}

// Version 6: no message changes, mentions nor message search (version 7).
export function rewindSqliteTo6(db: Database) {
  rewindSqliteTo7(db);
  for (const op of ["insert", "update", "delete"]) db.run(`DROP TRIGGER IF EXISTS messages_search_${op}`);
  db.run("DROP TABLE messages_search");
  db.run("DROP TABLE mentions");
  for (const c of ["edited_at", "reply_to", "mentions", "reactions", "deleted_at"]) {
    db.run(`ALTER TABLE messages DROP COLUMN ${c}`);
  }
  db.run("PRAGMA user_version = 6");
}

export async function rewindPostgresTo6(sql: SQL) {
  await rewindPostgresTo7(sql);
  await sql`DROP TABLE mentions`;
  await sql`DROP INDEX messages_search`;
  await sql`ALTER TABLE messages DROP COLUMN edited_at, DROP COLUMN reply_to, DROP COLUMN mentions,
    DROP COLUMN reactions, DROP COLUMN deleted_at, DROP COLUMN search`;
  await sql`UPDATE echat_schema SET version = 6`;
}

// Version 5: no groups and no room order (version 6).
export function rewindSqliteTo5(db: Database) {
  rewindSqliteTo6(db);
  db.run("DROP INDEX rooms_public");
  db.run("DROP TABLE room_events");
  for (const c of ["kind", "name", "name_folded", "topic", "public", "owner_id", "archived", "seq"]) {
    db.run(`ALTER TABLE rooms DROP COLUMN ${c}`);
  }
  db.run("ALTER TABLE messages DROP COLUMN seq");
  db.run("PRAGMA user_version = 5");
}

export async function rewindPostgresTo5(sql: SQL) {
  await rewindPostgresTo6(sql);
  await sql`DROP TABLE room_events`;
  await sql`DROP INDEX rooms_public`;
  await sql`ALTER TABLE rooms DROP COLUMN kind, DROP COLUMN name, DROP COLUMN name_folded, DROP COLUMN topic,
    DROP COLUMN public, DROP COLUMN owner_id, DROP COLUMN archived, DROP COLUMN seq`;
  await sql`ALTER TABLE messages DROP COLUMN seq`;
  await sql`UPDATE echat_schema SET version = 5`;
}

// Version 4: no admins, disabled or deleted accounts, invites, nor session details (version 5).
export function rewindSqliteTo4(db: Database) {
  rewindSqliteTo5(db);
  db.run("DROP TABLE invites");
  for (const c of ["admin", "disabled", "last_seen_at", "deleted_at"]) db.run(`ALTER TABLE users DROP COLUMN ${c}`);
  db.run(`CREATE TABLE sessions_v4 (
    token_hash   BLOB    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
  ) WITHOUT ROWID`);
  db.run("INSERT INTO sessions_v4 SELECT token_hash, user_id, created_at, last_used_at FROM sessions");
  db.run("DROP TABLE sessions");
  db.run("ALTER TABLE sessions_v4 RENAME TO sessions");
  db.run("CREATE INDEX sessions_user ON sessions(user_id)");
  db.run("PRAGMA user_version = 4");
}

export async function rewindPostgresTo4(sql: SQL) {
  await rewindPostgresTo5(sql);
  await sql`DROP TABLE invites`;
  await sql`ALTER TABLE users DROP COLUMN admin, DROP COLUMN disabled, DROP COLUMN last_seen_at, DROP COLUMN deleted_at`;
  await sql`DROP INDEX sessions_user`;
  await sql`ALTER TABLE sessions DROP COLUMN public_id, DROP COLUMN user_agent, DROP COLUMN address`;
  await sql`CREATE INDEX sessions_user ON sessions(user_id)`;
  await sql`UPDATE echat_schema SET version = 4`;
}

// Version 2: no trigram search table (version 3) and no unread counters (version 4).
export function rewindSqliteTo2(db: Database) {
  rewindSqliteTo4(db);
  db.run("DROP TABLE users_search");
  for (const op of ["insert", "update", "delete"]) db.run(`DROP TRIGGER users_search_${op}`);
  db.run("ALTER TABLE rooms DROP COLUMN message_count");
  for (const c of ["sent", "read_count", "read_sent"]) db.run(`ALTER TABLE room_members DROP COLUMN ${c}`);
  db.run("PRAGMA user_version = 2");
}

export async function rewindPostgresTo2(sql: SQL) {
  await rewindPostgresTo4(sql);
  await sql`DROP INDEX users_folded_order`;
  await sql`DROP INDEX users_folded_trgm`;
  await sql`ALTER TABLE rooms DROP COLUMN message_count`;
  await sql`ALTER TABLE room_members DROP COLUMN sent, DROP COLUMN read_count, DROP COLUMN read_sent`;
  await sql`UPDATE echat_schema SET version = 2`;
}

const REWIND = {
  5: { sqlite: rewindSqliteTo5, postgres: rewindPostgresTo5 },
  6: { sqlite: rewindSqliteTo6, postgres: rewindPostgresTo6 },
  7: { sqlite: rewindSqliteTo7, postgres: rewindPostgresTo7 },
  8: { sqlite: rewindSqliteTo8, postgres: rewindPostgresTo8 },
  9: { sqlite: rewindSqliteTo9, postgres: rewindPostgresTo9 },
  10: { sqlite: rewindSqliteTo10, postgres: rewindPostgresTo10 },
};

// A stopped test server's database (the suite's store: its SQLite file, or databaseUrl) turned back to a version.
export async function rewindTestDatabase(version: keyof typeof REWIND, file: string, databaseUrl: string) {
  if (STORE === "postgres") {
    const sql = new SQL({ url: databaseUrl, max: 1 });
    await REWIND[version].postgres(sql);
    await sql.close();
  } else {
    const db = new Database(file);
    REWIND[version].sqlite(db);
    db.close();
  }
}

// An upgrade test: a database of the suite's store made now and filled by `before`, turned back to `version`,
// then served again (the server migrates it at start) for `after`; removed afterwards. config: settings of both.
export async function afterUpgradeFrom<S>(
  version: keyof typeof REWIND,
  before: (t: TestServer) => Promise<S>,
  after: (t: TestServer, filled: S) => Promise<void>,
  config: Partial<Config> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), `echat-v${version}-`));
  const databaseUrl = STORE === "postgres" ? await freshDatabase(dir) : "";
  let t = await startServer({ dir, config: { ...config, databaseUrl } });
  try {
    const filled = await before(t);
    await t.stop();
    await rewindTestDatabase(version, t.db, databaseUrl);
    t = await startServer({ dir, config: { ...config, databaseUrl } });
    await after(t, filled);
  } finally {
    await t.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
}
