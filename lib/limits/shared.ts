// Login-guessing buckets shared by every instance, so N instances do not allow N times the guesses:
// in Redis when there is one (one atomic script per take), else in the PostgreSQL database (one
// upsert under the row lock). Same token-bucket arithmetic as limits.ts createBuckets, same clock.
import { RedisClient, type SQL } from "bun";
import type { Config } from "../config.ts";
import type { AsyncBuckets } from "./buckets.ts";
import type { Logger } from "../log.ts";
import type { PostgresHandle } from "../store/store.ts";

export type SharedBuckets = ((name: string, capacity: number, perSecond: number) => AsyncBuckets) & { close(): void };

// KEYS[1] bucket; ARGV capacity, perSecond, now (ms), "take" | "refund". Returns 0 or seconds to wait.
const SCRIPT = `
local cap, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = cap
if b[1] then tokens = math.min(cap, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate / 1000) end
if ARGV[4] == 'refund' then
  if not b[1] then return 0 end
  tokens = math.min(cap, tokens + 1)
elseif tokens < 1 then
  return math.max(1, math.ceil((1 - tokens) / rate))
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000))
return 0`;

// undefined: one instance (SQLite: no pg), the in-memory buckets of limits.ts are the whole truth.
export function openSharedBuckets(
  config: Config,
  pg: PostgresHandle | undefined,
  now: () => number,
  log: Logger,
): SharedBuckets | undefined {
  if (!pg || !config.limits) return undefined;
  const { sql, deployment } = pg;
  if (config.redisUrl) {
    // No offline queue: while Redis is away a take fails at once (and is let through) instead of waiting.
    const client = new RedisClient(config.redisUrl, { maxRetries: 1000, enableOfflineQueue: false });
    client.connect().catch(() => {});
    return Object.assign(redisBuckets(client, deployment, now, log), { close: () => client.close() });
  }
  return Object.assign(postgresBuckets(sql, now), { close() {} });
}

type Factory = (name: string, capacity: number, perSecond: number) => AsyncBuckets;

function redisBuckets(client: RedisClient, namespace: string, now: () => number, log: Logger): Factory {
  let warned = false;
  return (name, capacity, perSecond) => {
    const run = async (key: string, op: "take" | "refund") => {
      const bucket = `echat:${namespace}:limit:${name}:${key}`;
      const wait = await client.send("EVAL", [
        SCRIPT,
        "1",
        bucket,
        String(capacity),
        String(perSecond),
        String(now()),
        op,
      ]);
      if (warned) log.info("Redis is back: login limits shared again");
      warned = false;
      return Number(wait);
    };
    return {
      take: (key) =>
        run(key, "take").catch((e) => {
          // Without Redis, let logins through rather than lock everyone out; the other buckets still hold.
          if (!warned)
            log.error("Redis unavailable for login limits: not counting guesses until it is back", {
              error: String(e),
            });
          warned = true;
          if (!client.connected) client.connect().catch(() => {});
          return 0;
        }),
      refund: (key) =>
        run(key, "refund").then(
          () => undefined,
          () => undefined,
        ),
    };
  };
}

function postgresBuckets(sql: SQL, now: () => number): Factory {
  return (name, capacity, perSecond) => {
    const level = (t: number) =>
      sql`LEAST(${capacity}::float8, limit_buckets.tokens + GREATEST(0, ${t}::bigint - limit_buckets.at) * ${perSecond}::float8 / 1000)`;
    return {
      async take(key) {
        const t = now();
        const [row] = await sql`INSERT INTO limit_buckets AS limit_buckets (key, tokens, at, took)
          VALUES (${rowKey(name, key)}, ${capacity - 1}::float8, ${t}, true)
          ON CONFLICT (key) DO UPDATE SET
            took = ${level(t)} >= 1,
            tokens = CASE WHEN ${level(t)} >= 1 THEN ${level(t)} - 1 ELSE limit_buckets.tokens END,
            at = CASE WHEN ${level(t)} >= 1 THEN ${t} ELSE limit_buckets.at END
          RETURNING took, tokens, at`;
        // Now and then forget this name's buckets that have refilled (a missing bucket is a full one), so
        // the table holds only the keys tried within one refill period.
        const full = t - Math.ceil((capacity / perSecond) * 1000);
        if (Math.random() < 0.01)
          void sql`DELETE FROM limit_buckets WHERE starts_with(key, ${name + ":"}) AND at < ${full}`.catch(() => {});
        if (row.took) return 0;
        const tokens = Math.min(capacity, row.tokens + (Math.max(0, t - Number(row.at)) * perSecond) / 1000);
        return Math.max(1, Math.ceil((1 - tokens) / perSecond));
      },
      async refund(key) {
        const t = now();
        await sql`UPDATE limit_buckets SET tokens = LEAST(${capacity}::float8, ${level(t)} + 1), at = ${t}
          WHERE key = ${rowKey(name, key)}`;
      },
    };
  };
}

const rowKey = (name: string, key: string) => `${name}:${key.replaceAll("\0", "")}`; // text cannot hold U+0000
