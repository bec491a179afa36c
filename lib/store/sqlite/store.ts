// The embedded default: bun:sqlite, WAL; this connection for accounts, rooms and reads, a writer
// worker for messages. Each entity's statements live in its own module; this one composes them.
import { Database } from "bun:sqlite";
import type { Config } from "../../config.ts";
import { ApiError } from "../../errors.ts";
import { guardStore } from "../guard.ts";
import type { SchemaUpgrade } from "../migrations.ts";
import type { OpenDatabase, Store } from "../store.ts";
import { createAccounts } from "./accounts.ts";
import { createFiles } from "./files.ts";
import { createMessages } from "./messages.ts";
import { migrateSqlite } from "./migrations.ts";
import { prepareHistoryStarts } from "./retention.ts";
import { copyDatabase, createPrivate } from "./private-file.ts";
import { createRooms } from "./rooms.ts";
import { createSearch } from "./search.ts";
import { createPush } from "./push.ts";
import { createPushQueue } from "./push-queue.ts";
import { createSessions } from "./sessions.ts";
import { createUsers } from "./users.ts";

// serving: a server's store holds the file's serve lock for its life and never lets its thread wait
// long for a lock; the CLI's commands open the same file beside a running server.
export type SqliteOptions = { serving: boolean };

// A serving thread waits at most this long for another process's lock, then answers 503 (docs/api.md).
const SERVING_BUSY_MS = 100;

export function openSqliteStore(config: Config, { serving }: SqliteOptions): OpenDatabase {
  const release = serving ? holdServeLock(config.db) : () => {};
  let db: Database;
  let upgrade: SchemaUpgrade | undefined;
  try {
    createPrivate(config.db);
    db = new Database(config.db, { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    // FULL: a commit is fsynced before it returns, so an ack survives power loss.
    db.run(`PRAGMA synchronous = ${config.synchronous === "full" ? "FULL" : "NORMAL"}`);
    db.run("PRAGMA foreign_keys = ON");
    // A deleted message's text is overwritten with zeros in the file, not left in a free page (docs/security.md).
    db.run("PRAGMA secure_delete = ON");
    db.run("PRAGMA busy_timeout = 5000"); // opening and migrating may wait for a CLI command
    // Checkpoints copy the WAL into the database file: the message writer runs them on its own
    // thread, so a login or a read marker never pays for one on the thread that serves sockets.
    db.run("PRAGMA wal_autocheckpoint = 0");
    upgrade = migrateSqlite(db, config.db);
    if (serving) db.run(`PRAGMA busy_timeout = ${SERVING_BUSY_MS}`);
  } catch (e) {
    release();
    throw e;
  }

  const messages = createMessages(db, config);
  const ping = db.query<{ one: number }, []>("SELECT 1 AS one");
  const store: Store = {
    ...createUsers(db),
    ...createAccounts(db, messages.change),
    ...createSessions(db),
    ...createFiles(db),
    ...createPush(db),
    ...createPushQueue(db, config.synchronous),
    ...createRooms(db, messages.change),
    createMessage: messages.createMessage,
    editMessage: (edit) => messages.change("editMessage", [edit]) as ReturnType<Store["editMessage"]>,
    deleteMessage: (deletion) => messages.change("deleteMessage", [deletion]) as ReturnType<Store["deleteMessage"]>,
    setReaction: (change) => messages.change("setReaction", [change]) as ReturnType<Store["setReaction"]>,
    expireMessages: (round) => messages.change("expireMessages", [round]) as ReturnType<Store["expireMessages"]>,
    historyStarts: prepareHistoryStarts(db),
    listMessages: messages.listMessages,
    listFrames: messages.listFrames,
    listRoomsFrames: messages.listRoomsFrames,
    latestSeqs: messages.latestSeqs,
    ...createSearch(db, messages.visibleUpTo),
    async ping() {
      ping.get();
    },
    async backup(file) {
      copyDatabase(db, file);
    },
    async close() {
      await messages.close();
      try {
        db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // busy: another process holds the database; the WAL is checkpointed at the next start
      }
      db.close();
      release();
    },
  };
  // Messages are written by the worker, which waits for locks itself; everything on this thread
  // gives up after SERVING_BUSY_MS.
  return { store: guardStore(store, busyToUnavailable, ["createMessage"]), upgrade };
}

// SQLite's answer once the short busy timeout ran out: another process holds the write lock.
// It passes: 503 with Retry-After (docs/api.md).
function busyToUnavailable(e: unknown): unknown {
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  const busy = (typeof code === "string" && code.startsWith("SQLITE_BUSY")) || message === "database is locked";
  return busy ? new ApiError("unavailable", "The database is busy, try again", { "retry-after": "1" }) : e;
}

// One server per database file: an exclusive lock on "<db>-lock", a database of its own, held by a
// transaction for the server's life. SQLite's locks are the OS's (fcntl) and die with the process,
// so a crashed server leaves no stale lock. Of the CLI's commands only import takes it: a server would not see
// what an import writes under it.
export function holdServeLock(db: string): () => void {
  const path = `${db}-lock`;
  createPrivate(path);
  const lock = new Database(path);
  try {
    lock.run("PRAGMA busy_timeout = 0");
    lock.run("BEGIN EXCLUSIVE");
  } catch (e) {
    lock.close();
    const busy = (e as { code?: string }).code?.startsWith("SQLITE_BUSY");
    if (!busy) throw e;
    throw new Error(`another echat server is already serving ${db} (it holds ${path}); stop it first`);
  }
  return () => {
    lock.run("ROLLBACK");
    lock.close();
  };
}
