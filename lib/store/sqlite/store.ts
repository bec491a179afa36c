// The embedded default: bun:sqlite, WAL; this connection for accounts, rooms and reads, a writer
// worker for messages. Each entity's statements live in its own module; this one composes them.
import { Database } from "bun:sqlite";
import type { Config } from "../../config.ts";
import type { Store } from "../store.ts";
import { createMessages } from "./messages.ts";
import { migrateSqlite } from "./migrations.ts";
import { createRooms } from "./rooms.ts";
import { createSessions } from "./sessions.ts";
import { createUsers } from "./users.ts";

export function openSqliteStore(config: Config): Store {
  const db = new Database(config.db, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  // FULL: a commit is fsynced before it returns, so an ack survives power loss.
  db.run(`PRAGMA synchronous = ${config.synchronous === "full" ? "FULL" : "NORMAL"}`);
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA busy_timeout = 5000");
  // Checkpoints copy the WAL into the database file: the message writer runs them on its own
  // thread, so a login or a read marker never pays for one on the thread that serves sockets.
  db.run("PRAGMA wal_autocheckpoint = 0");
  migrateSqlite(db);

  const messages = createMessages(db, config);
  const ping = db.query<{ one: number }, []>("SELECT 1 AS one");
  return {
    ...createUsers(db),
    ...createSessions(db),
    ...createRooms(db),
    createMessage: messages.createMessage,
    listMessages: messages.listMessages,
    async ping() {
      ping.get();
    },
    async backup(file) {
      // One read transaction: safe while the server writes, and the copy is a complete database.
      db.run("VACUUM INTO ?", [file]);
    },
    async close() {
      await messages.close();
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      db.close();
    },
  };
}
