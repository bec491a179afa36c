// Picks the store from the config: the interface module (store.ts) imports none of its implementations.
import type { Config } from "../config.ts";
import type { OpenDatabase } from "./store.ts";

// PostgreSQL when a database URL is set (several instances), else the embedded SQLite file, which one
// server at a time may serve; the CLI's commands open it with { serving: false }, beside that server.
export async function openDatabase(config: Config, { serving = true } = {}): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    const { openPostgres } = await import("./postgres/store.ts");
    return openPostgres(config, { serving });
  }
  const { openSqliteStore } = await import("./sqlite/store.ts");
  return openSqliteStore(config, { serving });
}
