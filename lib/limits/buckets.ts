// Token buckets: a bucket per key, refilled at a steady rate; the clock is injected.

// Forget full buckets this often, so memory follows the keys active in the last refill period.
const PRUNE_EVERY_MS = 60_000;

export type Buckets = {
  take(key: string): number; // 0: a token was taken; else seconds until one is available (none taken)
  refund(key: string): void; // gives one token back, never above capacity
};

// A bucket per key holding up to `capacity` tokens, refilled at `perSecond`. The clock is injected
// so tests advance time instead of sleeping.
export function createBuckets(capacity: number, perSecond: number, now: () => number): Buckets {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let pruned = now();
  const level = (key: string, t: number) => {
    const b = buckets.get(key);
    return b ? Math.min(capacity, b.tokens + ((t - b.at) * perSecond) / 1000) : capacity;
  };
  function prune(t: number) {
    if (t - pruned < PRUNE_EVERY_MS) return;
    pruned = t;
    for (const key of buckets.keys()) if (level(key, t) >= capacity) buckets.delete(key);
  }
  return {
    take(key) {
      const t = now();
      prune(t);
      const tokens = level(key, t);
      if (tokens < 1) return Math.max(1, Math.ceil((1 - tokens) / perSecond));
      buckets.set(key, { tokens: tokens - 1, at: t });
      return 0;
    },
    refund(key) {
      const t = now();
      if (buckets.has(key)) buckets.set(key, { tokens: Math.min(capacity, level(key, t) + 1), at: t });
    },
  };
}

// The same buckets kept elsewhere (Redis, PostgreSQL): every call is asynchronous.
export type AsyncBuckets = { [K in keyof Buckets]: (key: string) => Promise<ReturnType<Buckets[K]>> };
