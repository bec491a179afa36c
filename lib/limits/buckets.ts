// Token buckets: a bucket per key, refilled at a steady rate; the clock is injected.

// Forget full buckets this often, so memory follows the keys active in the last refill period.
const PRUNE_EVERY_MS = 60_000;
// At most this many buckets by default: past it, full buckets go first, then the least recently used.
export const MAX_KEYS = 100_000;

export type Buckets = {
  take(key: string): number; // 0: a token was taken; else seconds until one is available (none taken)
  refund(key: string): void; // gives one token back, never above capacity
  size(): number; // buckets held, for the bench
};

// A bucket per key holding up to `capacity` tokens, refilled at `perSecond`. The clock is injected
// so tests advance time instead of sleeping. Memory is bounded: at `maxKeys` buckets, the full ones
// are dropped (they hold nothing), then the least recently used down to 90% (an evicted key starts
// full again, so callers check the key an attacker cannot multiply, the address, before the others).
export function createBuckets(capacity: number, perSecond: number, now: () => number, maxKeys = MAX_KEYS): Buckets {
  const buckets = new Map<string, { tokens: number; at: number }>(); // least recently used first
  let pruned = now();
  const level = (key: string, t: number) => {
    const b = buckets.get(key);
    return b ? Math.min(capacity, b.tokens + ((t - b.at) * perSecond) / 1000) : capacity;
  };
  function prune(t: number) {
    for (const key of buckets.keys()) if (level(key, t) >= capacity) buckets.delete(key);
  }
  function set(key: string, tokens: number, t: number) {
    buckets.delete(key); // re-inserted last: most recently used
    buckets.set(key, { tokens, at: t });
    if (buckets.size <= maxKeys) return;
    prune(t);
    for (const old of buckets.keys()) {
      if (buckets.size <= Math.floor(maxKeys * 0.9)) break;
      buckets.delete(old);
    }
  }
  return {
    take(key) {
      const t = now();
      if (t - pruned >= PRUNE_EVERY_MS) (pruned = t), prune(t);
      const tokens = level(key, t);
      if (tokens < 1) return Math.max(1, Math.ceil((1 - tokens) / perSecond));
      set(key, tokens - 1, t);
      return 0;
    },
    refund(key) {
      const t = now();
      if (buckets.has(key)) set(key, Math.min(capacity, level(key, t) + 1), t);
    },
    size: () => buckets.size,
  };
}

// The same buckets kept elsewhere (Redis, PostgreSQL): every call is asynchronous.
export type AsyncBuckets = { [K in Exclude<keyof Buckets, "size">]: (key: string) => Promise<ReturnType<Buckets[K]>> };
