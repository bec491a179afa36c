// Two echat instances on one fresh PostgreSQL database, sharing work through Redis (redisUrl) or, without it,
// LISTEN/NOTIFY (fanoutPaths() in postgres.ts names both); stopPair stops them and drops the database.
import { afterAll, beforeAll, describe } from "bun:test";
import type { Config } from "../../lib/config.ts";
import { type Account, register } from "./http.ts";
import { dropDatabase, fanoutPaths, freshDatabase } from "./postgres.ts";
import { startServer, type TestServer } from "./server.ts";

export type Pair = { a: TestServer; b: TestServer; databaseUrl: string };

// config: settings of both instances beside the database and Redis.
export async function startPair(redisUrl: string, config: Partial<Config> = {}): Promise<Pair> {
  const databaseUrl = await freshDatabase();
  const [a, b] = await Promise.all([
    startServer({ config: { ...config, databaseUrl, redisUrl } }),
    startServer({ config: { ...config, databaseUrl, redisUrl } }),
  ]);
  return { a, b, databaseUrl };
}

export async function stopPair(pair: Partial<Pair>) {
  await Promise.all([pair.a?.stop(), pair.b?.stop()]);
  if (pair.databaseUrl) await dropDatabase(pair.databaseUrl);
}

export type Servers = () => { a: TestServer; b: TestServer };
export type NewUser = (login: string) => Promise<Account>;

// The same cases on one instance (a and b the same server) and on two instances through each fan-out path;
// newUser registers a fresh user (a numbered login) on a. config: settings of every server started.
export function onOneAndTwoInstances(
  cases: (servers: Servers, newUser: NewUser) => void,
  config: Partial<Config> = {},
) {
  let n = 0;
  const numbered = (s: () => TestServer) => (login: string) => register(s().url, `${login}${n++}`);
  describe("on one instance", () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startServer({ config });
    });
    afterAll(() => s.stop());
    cases(
      () => ({ a: s, b: s }),
      numbered(() => s),
    );
  });
  for (const path of fanoutPaths()) {
    describe.skipIf(!path.enabled)(`on two instances through ${path.name}`, () => {
      let pair: Pair;
      beforeAll(async () => {
        pair = await startPair(path.redisUrl, config);
      });
      afterAll(() => stopPair(pair ?? {}));
      cases(
        () => pair,
        numbered(() => pair.a),
      );
    });
  }
}
