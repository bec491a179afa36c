// Turns a current database back into what an older echat left, so migration tests start from it.
// Opening the file or database here is only to rewind it; every assertion goes through the API.
import type { Database } from "bun:sqlite";
import type { SQL } from "bun";

// Version 4: no groups and no room order (version 5).
export function rewindSqliteTo4(db: Database) {
  db.run("DROP INDEX rooms_public");
  db.run("DROP TABLE room_events");
  for (const c of ["kind", "name", "name_folded", "topic", "public", "owner_id", "archived", "seq"]) {
    db.run(`ALTER TABLE rooms DROP COLUMN ${c}`);
  }
  db.run("ALTER TABLE messages DROP COLUMN seq");
  db.run("PRAGMA user_version = 4");
}

export async function rewindPostgresTo4(sql: SQL) {
  await sql`DROP TABLE room_events`;
  await sql`DROP INDEX rooms_public`;
  await sql`ALTER TABLE rooms DROP COLUMN kind, DROP COLUMN name, DROP COLUMN name_folded, DROP COLUMN topic,
    DROP COLUMN public, DROP COLUMN owner_id, DROP COLUMN archived, DROP COLUMN seq`;
  await sql`ALTER TABLE messages DROP COLUMN seq`;
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
