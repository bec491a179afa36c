// Picks the store from the config: the interface module (store.ts) imports none of its implementations.
import type { Config } from "../config.ts";
import type { Store } from "./store.ts";

// PostgreSQL when a database URL is set (several instances), else the embedded SQLite file.
export async function openStore(config: Config): Promise<Store> {
  if (config.databaseUrl) {
    const { openPostgresStore } = await import("./postgres/store.ts");
    return openPostgresStore(config);
  }
  const { openSqliteStore } = await import("./sqlite/store.ts");
  return openSqliteStore(config);
}
