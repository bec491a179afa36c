// A real server in the test process: an ephemeral port, a fresh temporary folder (and, under
// ECHAT_TEST_STORE=postgres, a fresh database), and a clock the test can move.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, configFor } from "../../lib/config.ts";
import type { Store } from "../../lib/store/store.ts";
import { type Running, startServer as start } from "../../server.ts";
import { dropDatabase, freshDatabase, STORE } from "./postgres.ts";

// databaseUrl: the PostgreSQL database under ECHAT_TEST_STORE=postgres, else "" (db is the SQLite file).
export type TestServer = Running & {
  dir: string;
  db: string;
  databaseUrl: string;
  restart: () => Promise<TestServer>;
  clock: Clock;
};
// freeze(): time moves only by advance(), so a test of rates does not depend on the machine's speed.
export type Clock = { now: () => number; advance: (ms: number) => void; freeze: () => void };

// Cheap argon2 so a suite can register hundreds of users; production defaults stay safe.
// Abuse limits are off here (a suite registers more than 30 users a minute from 127.0.0.1);
// test/limits.test.ts and test/sessions.test.ts turn them on.
export const TEST_CONFIG: Partial<Config> = {
  port: 0,
  host: "127.0.0.1",
  logLevel: "silent",
  passwordMemoryKiB: 64,
  passwordTime: 1,
  limits: false,
};

// config: settings over TEST_CONFIG; dir: a folder the test owns (kept at stop), else a fresh temporary one;
// wrapStore: a test's failing store; log: receives every log line (set config.logLevel to see any).
export type StartOptions = {
  config?: Partial<Config>;
  dir?: string;
  wrapStore?: (s: Store) => Store;
  log?: (line: string) => void;
  env?: Record<string, string>; // S3 credentials and endpoint (test/support/s3.ts)
};

export function testClock(): Clock {
  let offset = 0;
  let frozen: number | null = null;
  return {
    now: () => (frozen ?? Date.now()) + offset,
    advance: (ms) => void (offset += ms),
    freeze: () => void (frozen ??= Date.now()),
  };
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const { config = {}, dir, wrapStore, log, env } = options;
  const folder = dir ?? mkdtempSync(join(tmpdir(), "echat-test-"));
  const db = join(folder, "echat.db");
  const clock = testClock();
  // A restart passes the same folder; with PostgreSQL it also keeps the same database.
  const databaseUrl = config.databaseUrl ?? (STORE === "postgres" ? await freshDatabase(folder) : "");
  const running = await start(configFor({ ...TEST_CONFIG, db, databaseUrl, ...config }), {
    now: clock.now,
    wrapStore,
    log,
    env,
  });
  // Only the server that made the folder (and database) removes them, also after restarts.
  const cleanup = async () => {
    if (dir) return;
    rmSync(folder, { recursive: true, force: true });
    if (STORE === "postgres" && !config.databaseUrl) await dropDatabase(databaseUrl);
  };
  return {
    ...running,
    dir: folder,
    db,
    databaseUrl,
    clock,
    async stop() {
      await running.stop();
      await cleanup();
    },
    async restart() {
      await running.stop();
      const next = await startServer({ ...options, config: { ...config, databaseUrl }, dir: folder });
      const stopNext = next.stop;
      return Object.assign(next, { stop: async () => (await stopNext(), await cleanup()) });
    },
  };
}
