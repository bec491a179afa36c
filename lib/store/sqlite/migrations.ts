// SQLite schema versions, recorded in PRAGMA user_version; the plan is lib/store/migrations.ts.
import type { Database } from "bun:sqlite";
import { type Migrations, planMigration } from "../migrations.ts";
import schema from "./schema.sql" with { type: "text" };

export const SQLITE_MIGRATIONS: Migrations<Database> = {
  version: 3,
  create: (db) => void db.run(schema),
  from: {
    // The unique client_id index took a random page write per message; idempotency came from each
    // sender's recent client_ids instead, read through an index appended in id order.
    1: (db) => {
      db.run("DROP INDEX messages_client");
      db.run("CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL");
    },
    2: addUnreadCounters,
  },
};

// 2 -> 3: unread counts were a count(*) per room on every room list; they become counters, filled
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

export function migrateSqlite(db: Database) {
  db.transaction(() => {
    const { user_version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
    const steps = planMigration(user_version, SQLITE_MIGRATIONS);
    if (steps.length === 0) return;
    for (const step of steps) step(db);
    db.run(`PRAGMA user_version = ${SQLITE_MIGRATIONS.version}`);
  }).immediate();
}
