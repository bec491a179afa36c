// Abuse limits: token buckets for login guesses, registrations and messages, and caps on open
// WebSockets. `--limits off` (ECHAT_LIMITS=off) turns every one of them off; the 64 KiB body and
// frame limits are not abuse limits and live elsewhere (respond.ts, hub.ts).
import type { Server } from "bun";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";

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

// Open connections per key, at most `cap`.
function createCounter(cap: number) {
  const open = new Map<string, number>();
  return {
    full: (key: string) => (open.get(key) ?? 0) >= cap,
    add: (key: string) => void open.set(key, (open.get(key) ?? 0) + 1),
    remove(key: string) {
      const n = (open.get(key) ?? 0) - 1;
      if (n > 0) open.set(key, n);
      else open.delete(key);
    },
  };
}

const rateLimited = (seconds?: number) =>
  new ApiError("rate_limited", undefined, seconds ? { "retry-after": String(seconds) } : undefined);

export type Limits = ReturnType<typeof createLimits>;

export function createLimits(config: Config, now: () => number) {
  const perMinute = (n: number) => createBuckets(n, n / 60, now);
  const loginFails = perMinute(config.loginFailsPerLogin);
  const auth = perMinute(config.authPerAddress);
  const messages = createBuckets(config.messageBurst, config.messageRate, now);
  const userSockets = createCounter(config.socketsPerUser);
  const addressSockets = createCounter(config.socketsPerAddress);
  const on = config.limits;

  return {
    // A login attempt takes a token from its login's and its address's bucket before the password
    // is checked, so parallel guesses cannot all slip through; the caller refunds on success.
    // Returns the refund.
    loginAttempt(login: string, address: string): () => void {
      if (!on) return () => {};
      const key = login.slice(0, 256);
      const wait = loginFails.take(key);
      if (wait) throw rateLimited(wait);
      const waitAddress = auth.take(address);
      if (waitAddress) {
        loginFails.refund(key);
        throw rateLimited(waitAddress);
      }
      return () => {
        loginFails.refund(key);
        auth.refund(address);
      };
    },

    // Every registration that gets as far as hashing a password counts, successful or not.
    registration(address: string) {
      if (!on) return;
      const wait = auth.take(address);
      if (wait) throw rateLimited(wait);
    },

    // false: the user is over the message rate; the message must not be stored.
    message(userId: number): boolean {
      return !on || messages.take(String(userId)) === 0;
    },

    // Reserves a WebSocket slot for the user and the address, or throws rate_limited. The caller
    // releases it when the socket closes (or when the upgrade fails).
    openSocket(userId: number, address: string): () => void {
      if (!on) return () => {};
      const user = String(userId);
      if (userSockets.full(user) || addressSockets.full(address)) {
        throw new ApiError("rate_limited", "Too many open connections: close one first");
      }
      userSockets.add(user);
      addressSockets.add(address);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        userSockets.remove(user);
        addressSockets.remove(address);
      };
    },
  };
}

// The client's address: the socket's peer, or with --trust-proxy the last X-Forwarded-For entry
// (the one our own proxy appended; entries to its left are whatever the client claimed).
export function clientAddress(req: Request, server: Server<any>, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return addressKey(forwarded.slice(0, 64));
  }
  return addressKey(server.requestIP(req)?.address ?? "unknown");
}

// One key per IPv4 address, and per IPv6 /64: a single host is routinely handed a whole /64, so
// keying by full IPv6 address would give it 2^64 buckets.
export function addressKey(address: string): string {
  const a = address.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const [head = "", tail] = a.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(":") + "::/64";
}
