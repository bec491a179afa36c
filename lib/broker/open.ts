// Picks the broker from the config.
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { PostgresHandle, Store } from "../store/store.ts";
import type { Broker } from "./broker.ts";
import { createMemoryBroker } from "./memory.ts";
import { createSharedBroker } from "./shared.ts";

// REDIS_URL: Redis. Else, with a PostgreSQL store: LISTEN/NOTIFY. Else (SQLite): one instance, in memory.
// pg: the PostgreSQL client and deployment, present only with a PostgreSQL store.
export async function openBroker(
  config: Config,
  store: Store,
  pg: PostgresHandle | undefined,
  log: Logger,
  now: () => number = Date.now,
): Promise<Broker> {
  if (!pg) {
    if (config.redisUrl)
      log.warn("REDIS_URL is ignored without DATABASE_URL: several instances need a shared database");
    return createMemoryBroker();
  }
  if (config.redisUrl) {
    const { openRedisTransport } = await import("./redis.ts");
    return createSharedBroker(
      await openRedisTransport(config.redisUrl, pg.deployment, log, now),
      store,
      log,
      config.presenceTtl * 1000,
    );
  }
  const { openPostgresTransport } = await import("./postgres.ts");
  return createSharedBroker(await openPostgresTransport(pg.sql, log), store, log, config.presenceTtl * 1000);
}
