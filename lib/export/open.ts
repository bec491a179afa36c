// The tables of the configured store inside one transaction: for export a read-only snapshot (safe while the
// server writes), for import one write transaction (a failed import leaves the database as it was). The
// store is opened first as every command opens it, so the schema is this echat's (created or upgraded).
import { Database } from "bun:sqlite";
import { Failure, withStore } from "../cli/command.ts";
import type { Config } from "../config.ts";
import { openPostgres, SERVED, servingConnections } from "../store/postgres/store.ts";
import { holdServeLock } from "../store/sqlite/store.ts";
import { postgresTables, sqliteTables, type Tables } from "./tables.ts";

export async function withTables<T>(config: Config, write: boolean, fn: (tables: Tables) => Promise<T>): Promise<T> {
  if (config.databaseUrl) {
    const { store, pg } = await openPostgres(config).catch((e) => {
      throw new Failure(`cannot open the database: ${e instanceof Error ? e.message : e}`);
    });
    try {
      // Like the SQLite serve lock below: a running server would not see what an import writes under it.
      if (write && (await servingConnections(pg.sql)) > 0) throw new Failure(SERVED);
      return await pg.sql.begin(async (tx) => {
        if (!write) await tx`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`;
        return fn(postgresTables(tx));
      });
    } finally {
      await store.close();
    }
  }
  await withStore(config, write, async () => {}); // creates (import) or upgrades the file
  const release = write ? serveLock(config.db) : () => {};
  const db = new Database(config.db, { readonly: !write, strict: true });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    if (write) db.run("PRAGMA foreign_keys = ON");
    db.run(write ? "BEGIN IMMEDIATE" : "BEGIN");
    try {
      const result = await fn(sqliteTables(db));
      db.run("COMMIT");
      return result;
    } catch (e) {
      db.run("ROLLBACK");
      throw e;
    }
  } finally {
    db.close();
    release();
  }
}

// An import holds the file as a server would: none may serve it meanwhile (nor start while it runs).
function serveLock(db: string): () => void {
  try {
    return holdServeLock(db);
  } catch (e) {
    throw new Failure(e instanceof Error ? e.message : String(e));
  }
}
