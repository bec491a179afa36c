// SQLite schema versions, recorded in PRAGMA user_version; the plan is lib/store/migrations.ts.
import { Database } from "bun:sqlite";
import { type Migrations, planMigration, SCHEMA_VERSION, type SchemaUpgrade, UpgradeFailed } from "../migrations.ts";
import { copyDatabase, freeBackupName } from "./private-file.ts";
import { refoldUsers } from "./users.ts";
import schema from "./schema.sql" with { type: "text" };

export const SQLITE_MIGRATIONS: Migrations<Database> = {
  version: SCHEMA_VERSION,
  create: (db) => void db.run(schema),
  from: {
    // The unique client_id index took a random page write per message; idempotency came from each
    // sender's recent client_ids instead, read through an index appended in id order.
    1: (db) => {
      db.run("DROP INDEX messages_client");
      db.run("CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL");
    },
    2: foldLoginsNfkcAndIndexSearch,
    3: addUnreadCounters,
    4: addAdminsInvitesAndSessionDetails,
    5: addRoomOrder,
    6: addMessageChangesAndSearch,
    7: addFiles,
    8: (db) => void db.run("ALTER TABLE room_members ADD COLUMN notify TEXT"), // notification levels
    9: (db) => void db.run(schemaBlock("-- version 10: begin", "-- version 10: end")), // push subscriptions
    // 10 -> 11: the push queue, and each room's retention.
    10: (db) => {
      db.run("ALTER TABLE rooms ADD COLUMN retention INTEGER");
      db.run(schemaBlock("-- version 11: begin", "-- version 11: end"));
    },
  },
};

// 3 -> 4: unread counts were a count(*) per room on every room list; they become counters, filled
// here once from the messages (see schema.sql), through an index on senders made for the occasion.
function addUnreadCounters(db: Database) {
  db.run("ALTER TABLE rooms ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0");
  for (const column of ["sent", "read_count", "read_sent"]) {
    db.run(`ALTER TABLE room_members ADD COLUMN ${column} INTEGER NOT NULL DEFAULT 0`);
  }
  db.run("CREATE INDEX migrating_senders ON messages(room_id, user_id, id)");
  db.run("UPDATE rooms SET message_count = (SELECT count(*) FROM messages x WHERE x.room_id = rooms.id)");
  db.run(`UPDATE room_members SET
    sent = (SELECT count(*) FROM messages x WHERE x.room_id = room_members.room_id AND x.user_id = room_members.user_id),
    read_count = (SELECT count(*) FROM messages x WHERE x.room_id = room_members.room_id AND x.id <= room_members.last_read_id),
    read_sent = (SELECT count(*) FROM messages x WHERE x.room_id = room_members.room_id
      AND x.user_id = room_members.user_id AND x.id <= room_members.last_read_id)`);
  db.run("DROP INDEX migrating_senders");
}

// 4 -> 5: admins, disabled and deleted accounts, invites, and sessions with a public id and where they came
// from. The sessions table is made anew from schema.sql (SQLite cannot add a NOT NULL column without a
// default), each existing session given a random public id.
function addAdminsInvitesAndSessionDetails(db: Database) {
  db.run("ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0");
  db.run("ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0");
  db.run("ALTER TABLE users ADD COLUMN last_seen_at INTEGER");
  db.run("ALTER TABLE users ADD COLUMN deleted_at INTEGER");
  db.run("UPDATE users SET last_seen_at = (SELECT max(last_used_at) FROM sessions s WHERE s.user_id = users.id)");
  db.run("ALTER TABLE sessions RENAME TO sessions_v4");
  db.run("DROP INDEX sessions_user");
  db.run(schemaBlock("-- sessions: begin", "-- sessions: end"));
  db.run(`INSERT INTO sessions (token_hash, user_id, public_id, created_at, last_used_at)
    SELECT token_hash, user_id, lower(hex(randomblob(16))), created_at, last_used_at FROM sessions_v4`);
  db.run("DROP TABLE sessions_v4");
  db.run(schemaBlock("-- Invite codes, by the SHA-256", null));
}

// `file` is the database `db` has open. An older database is first copied beside it (freeBackupName):
// this transaction holds the write lock, so the copy, read on a second connection (WAL lets it), is
// exactly the database the steps then change. A failed step rolls everything back.
export function migrateSqlite(db: Database, file: string): SchemaUpgrade | undefined {
  return db
    .transaction(() => {
      const { user_version: from } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
      const steps = planMigration(from, SQLITE_MIGRATIONS);
      if (steps.length === 0) return undefined;
      const upgrade: SchemaUpgrade = { from, to: SQLITE_MIGRATIONS.version };
      if (from > 0) upgrade.backup = backupBeforeUpgrade(file, from);
      try {
        for (const step of steps) step(db);
      } catch (e) {
        throw new UpgradeFailed(upgrade, e);
      }
      db.run(`PRAGMA user_version = ${upgrade.to}`);
      return upgrade;
    })
    .immediate();
}

function backupBeforeUpgrade(file: string, version: number): string {
  const backup = freeBackupName(file, version);
  const reader = new Database(file, { readonly: true });
  try {
    copyDatabase(reader, backup);
  } finally {
    reader.close();
  }
  return backup;
}

// Logins fold with NFKC (validate.ts foldLogin): every stored fold is recomputed (old accounts the new fold
// merges stay apart and keep logging in: storedFold), then the trigram search table is built from them
// (anew: a file taken back to an older version by hand may still have it).
function foldLoginsNfkcAndIndexSearch(db: Database) {
  db.run(`
    DROP TRIGGER IF EXISTS users_search_insert;
    DROP TRIGGER IF EXISTS users_search_update;
    DROP TRIGGER IF EXISTS users_search_delete;
    DROP TABLE IF EXISTS users_search;
  `);
  refoldUsers(db);
  db.run(userSearchDdl());
  db.run("INSERT INTO users_search (users_search) VALUES ('rebuild')");
}

// The search table and its triggers as schema.sql makes them, so a migrated database equals a fresh one.
function userSearchDdl() {
  return schemaBlock("-- Substring search on the folded login", "-- sessions: begin");
}

// A part of schema.sql, from one marker line to the next (null: to the end), so migrations make what a
// fresh database has.
function schemaBlock(start: string, end: string | null) {
  const from = schema.indexOf(start);
  const to = end === null ? schema.length : schema.indexOf(end);
  if (from < 0 || to < from) throw new Error(`schema.sql: the block at ${JSON.stringify(start)} moved`);
  return schema.slice(from, to);
}

// 5 -> 6: groups (kind, name, topic, public, owner, archived) and the room's order (seq). Every room
// gets the creation event a new room gets (members: everyone, by its first member) as seq 1, and its
// messages the following seqs in id order, so a migrated room reads as one made today.
function addRoomOrder(db: Database) {
  const columns = [
    "kind TEXT NOT NULL DEFAULT 'direct'",
    "name TEXT",
    "name_folded TEXT",
    "topic TEXT",
    "public INTEGER NOT NULL DEFAULT 0",
    "owner_id INTEGER",
    "archived INTEGER NOT NULL DEFAULT 0",
    "seq INTEGER NOT NULL DEFAULT 0",
  ];
  for (const column of columns) db.run(`ALTER TABLE rooms ADD COLUMN ${column}`);
  db.run("ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0");
  db.run(statement("CREATE INDEX rooms_public"));
  db.run(statement("CREATE TABLE room_events"));
  db.run(statement("CREATE UNIQUE INDEX room_events_seq"));
  db.run(`UPDATE messages SET seq = x.n + 1 FROM
    (SELECT id, row_number() OVER (PARTITION BY room_id ORDER BY id) AS n FROM messages) AS x WHERE x.id = messages.id`);
  db.run("UPDATE rooms SET seq = message_count + 1");
  const rooms = db.query<{ id: number; createdAt: number }, []>("SELECT id, created_at AS createdAt FROM rooms").all();
  const members = db.query<{ id: number; login: string }, [number]>(
    "SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? ORDER BY m.position",
  );
  const insert = db.query<never, [number, number, string, number]>(
    "INSERT INTO room_events (room_id, seq, kind, by_id, body, created_at) VALUES (?, 1, 'members', ?, ?, ?)",
  );
  for (const { id, createdAt } of rooms) {
    const users = members.all(id);
    const body = JSON.stringify({ users, added: users.map((u) => u.id), removed: [] });
    insert.run(id, users[0]?.id ?? 0, body, createdAt);
  }
}

// One statement of schema.sql (up to the first ";" that ends a line), so a migrated database equals a fresh one.
function statement(start: string) {
  const from = schema.indexOf(start);
  const to = schema.indexOf(";\n", from);
  if (from < 0 || to < from) throw new Error(`schema.sql: ${start} moved`);
  return schema.slice(from, to + 1);
}

// 6 -> 7: edits, deletes, replies, reactions and mentions on messages, the mentions table, and the search
// index, built here from the stored messages.
function addMessageChangesAndSearch(db: Database) {
  for (const column of [
    "edited_at INTEGER",
    "reply_to INTEGER",
    "mentions TEXT",
    "reactions TEXT",
    "deleted_at INTEGER",
  ])
    db.run(`ALTER TABLE messages ADD COLUMN ${column}`);
  db.run(schemaBlock("-- version 7: begin", "-- version 7: end"));
  db.run("INSERT INTO messages_search (messages_search) VALUES ('rebuild')");
}

// 7 -> 8: files and server settings, and the rooms' file epoch (signed file URLs).
function addFiles(db: Database) {
  db.run("ALTER TABLE rooms ADD COLUMN file_epoch INTEGER NOT NULL DEFAULT 0");
  db.run("ALTER TABLE messages ADD COLUMN files TEXT");
  db.run(schemaBlock("-- version 8: begin", "-- version 8: end"));
}
