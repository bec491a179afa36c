// Two echat instances on one fresh PostgreSQL database, sharing work through Redis (redisUrl) or, without it,
// LISTEN/NOTIFY (fanoutPaths() in postgres.ts names both); stopPair stops them and drops the database.
import { dropDatabase, freshDatabase } from "./postgres.ts";
import { startServer, type TestServer } from "./server.ts";

export type Pair = { a: TestServer; b: TestServer; databaseUrl: string };

export async function startPair(redisUrl: string): Promise<Pair> {
  const databaseUrl = await freshDatabase();
  const [a, b] = await Promise.all([
    startServer({ config: { databaseUrl, redisUrl } }),
    startServer({ config: { databaseUrl, redisUrl } }),
  ]);
  return { a, b, databaseUrl };
}

export async function stopPair(pair: Partial<Pair>) {
  await Promise.all([pair.a?.stop(), pair.b?.stop()]);
  if (pair.databaseUrl) await dropDatabase(pair.databaseUrl);
}
