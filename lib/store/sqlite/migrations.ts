// SQLite schema versions, recorded in PRAGMA user_version; the plan is lib/store/migrations.ts.
import type { Database } from "bun:sqlite";
import { type Migrations, planMigration } from "../migrations.ts";
import schema from "./schema.sql" with { type: "text" };

export const SQLITE_MIGRATIONS: Migrations<Database> = {
  version: 2,
  create: (db) => void db.run(schema),
  from: {
    // The unique client_id index took a random page write per message; idempotency came from each
    // sender's recent client_ids instead, read through an index appended in id order.
    1: (db) => {
      db.run("DROP INDEX messages_client");
      db.run("CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL");
    },
  },
};

export function migrateSqlite(db: Database) {
  db.transaction(() => {
    const { user_version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
    const steps = planMigration(user_version, SQLITE_MIGRATIONS);
    if (steps.length === 0) return;
    for (const step of steps) step(db);
    db.run(`PRAGMA user_version = ${SQLITE_MIGRATIONS.version}`);
  }).immediate();
}
