// Abuse limits: token buckets for login guesses, registrations, messages and room creations, and caps on open
// WebSockets. `--limits off` (ECHAT_LIMITS=off) turns every one of them off; the 64 KiB body and
// frame limits are not abuse limits and live elsewhere (respond.ts, hub.ts).
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { type AsyncBuckets, createBuckets } from "./buckets.ts";
import type { SharedBuckets } from "./shared.ts";

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

export function createLimits(config: Config, now: () => number, shared?: SharedBuckets) {
  const loginFails = perMinute("login", config.loginFailsPerLogin, now, shared);
  const auth = perMinute("address", config.authPerAddress, now, shared);
  const messages = createBuckets(config.messageBurst, config.messageRate, now);
  const rooms = createBuckets(config.roomBurst, config.roomRate / 3600, now);
  const sockets = socketSlots(config.socketsPerUser, config.socketsPerAddress);
  const searches = createBuckets(config.searchesPerMinute, config.searchesPerMinute / 60, now);
  const uploads = createBuckets(config.uploadsPerMinute, config.uploadsPerMinute / 60, now);
  const on = config.limits;

  return {
    // Returns the refund, for the caller to run when the password was right.
    async loginAttempt(login: string, address: string): Promise<() => Promise<void>> {
      if (!on) return async () => {};
      return takeLoginAttempt(loginFails, auth, login, address);
    },

    // Every registration that gets as far as hashing a password counts, successful or not.
    async registration(address: string) {
      if (!on) return;
      const wait = await auth.take(address);
      if (wait) throw rateLimited(wait);
    },

    // false: the user is over the message rate; the message must not be stored.
    message(userId: number): boolean {
      return !on || messages.take(String(userId)) === 0;
    },

    // User and message searches (GET /v1/users, GET /v1/search) per user, on this instance: each one is work
    // on its main thread (SQLite reads there).
    search(userId: number) {
      if (!on) return;
      const wait = searches.take(String(userId));
      if (wait) throw rateLimited(wait);
    },

    // File uploads per user, on this instance.
    upload(userId: number) {
      if (!on) return;
      const wait = uploads.take(String(userId));
      if (wait) throw rateLimited(wait);
    },

    // A room creation from the user's bucket. taken: false when it is empty; the caller may still
    // answer a room that exists (no creation), else refuse() throws rate_limited with Retry-After.
    // refund() gives the token back when no room was created after all.
    roomCreation(userId: number) {
      const wait = on ? rooms.take(String(userId)) : 0;
      return {
        taken: wait === 0,
        refund: () => void (on && wait === 0 && rooms.refund(String(userId))),
        refuse: (): never => {
          throw rateLimited(wait);
        },
      };
    },

    // Reserves a WebSocket slot for the user and the address, or throws rate_limited. The caller
    // releases it when the socket closes (or when the upgrade fails).
    openSocket(userId: number, address: string): () => void {
      if (!on) return () => {};
      return sockets.reserve(String(userId), address);
    },
  };
}

// shared: with several instances, the login-guessing buckets live in Redis or PostgreSQL
// (limits/shared.ts) so that N instances do not allow N times the guesses.
function perMinute(name: string, n: number, now: () => number, shared?: SharedBuckets): AsyncBuckets {
  if (shared) return shared(name, n, n / 60);
  const b = createBuckets(n, n / 60, now);
  return { take: async (key) => b.take(key), refund: async (key) => b.refund(key) };
}

// A login attempt takes a token from its address's and its login's bucket before the password is
// checked, so parallel guesses cannot all slip through. The address comes first: a source over its rate
// adds no login bucket, so the number of login buckets grows only as fast as the addresses allow.
async function takeLoginAttempt(logins: AsyncBuckets, addresses: AsyncBuckets, login: string, address: string) {
  const key = loginKey(login);
  const waitAddress = await addresses.take(address);
  if (waitAddress) throw rateLimited(waitAddress);
  const wait = await logins.take(key);
  if (wait) {
    await addresses.refund(address);
    throw rateLimited(wait);
  }
  return async () => {
    await Promise.all([logins.refund(key), addresses.refund(address)]);
  };
}

// A bucket key of bounded size: a login is at most 64 characters, but anything may be tried.
const loginKey = (login: string) => (login.length <= 64 ? login : `#${Bun.hash(login).toString(36)}`);

// Open WebSockets per user and per address; a slot is released once, however often its release runs.
function socketSlots(perUser: number, perAddress: number) {
  const users = createCounter(perUser);
  const addresses = createCounter(perAddress);
  return {
    reserve(user: string, address: string): () => void {
      if (users.full(user) || addresses.full(address)) {
        throw new ApiError("rate_limited", "Too many open connections: close one first");
      }
      users.add(user);
      addresses.add(address);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        users.remove(user);
        addresses.remove(address);
      };
    },
  };
}
