// Picks the broker from the config.
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import type { PostgresStore } from "../store/postgres/store.ts";
import type { Broker } from "./broker.ts";
import { createMemoryBroker } from "./memory.ts";
import { createSharedBroker } from "./shared.ts";

// REDIS_URL: Redis. Else, with a PostgreSQL store: LISTEN/NOTIFY. Else (SQLite): one instance, in memory.
export async function openBroker(config: Config, store: Store, log: Logger): Promise<Broker> {
  if (!config.databaseUrl) {
    if (config.redisUrl)
      log.warn("REDIS_URL is ignored without DATABASE_URL: several instances need a shared database");
    return createMemoryBroker();
  }
  if (config.redisUrl) {
    const { openRedisTransport } = await import("./redis.ts");
    const { deployment } = store as PostgresStore;
    return createSharedBroker(
      await openRedisTransport(config.redisUrl, deployment, log),
      store,
      log,
      config.presenceTtl * 1000,
    );
  }
  const { openPostgresTransport } = await import("./postgres.ts");
  return createSharedBroker(await openPostgresTransport(store, log), store, log, config.presenceTtl * 1000);
}
