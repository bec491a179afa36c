// An in-memory cache in front of the store's session lookups, so an authenticated request costs no
// database read. Everything that ends or changes a session here goes through the same store calls,
// which update the cache at once. What another instance ends (logout, password change, a disabled or
// deleted user, a session ended by id) reaches this one as a broker kick, and `forget` drops it here
// too; what another process does (the CLI's `user passwd`, `user disable`) is seen within TTL_MS, when
// the entry is read from the database again.
import type { Kick } from "../broker/broker.ts";
import type { Session, Store } from "../store/store.ts";

const TTL_MS = 10_000;
const MAX_ENTRIES = 100_000;

export type SessionCache = { store: Store; forget: (k: Kick) => void };

export function withSessionCache(store: Store, now: () => number = Date.now): SessionCache {
  const cache = new Map<string, { session: Session; at: number }>();
  const key = (hash: Uint8Array) => hash.toHex();
  const forgetUser = (userId: number, kept?: string) => {
    for (const [k, { session }] of cache) if (session.userId === userId && k !== kept) cache.delete(k);
  };
  const forget = (k: Kick) => {
    if ("session" in k) cache.delete(k.session);
    else if ("keep" in k) forgetUser(k.user, k.keep);
    else if (!("room" in k)) forgetUser(k.user);
  };
  const cached: Store = {
    ...store,
    async findSession(tokenHash) {
      const k = key(tokenHash);
      const hit = cache.get(k);
      if (hit && now() - hit.at < TTL_MS) return hit.session;
      const session = await store.findSession(tokenHash);
      cache.delete(k);
      if (session) {
        if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!); // the oldest entry
        cache.set(k, { session, at: now() });
      }
      return session;
    },
    async deleteSession(tokenHash) {
      cache.delete(key(tokenHash));
      await store.deleteSession(tokenHash);
    },
    async endSession(userId, publicId) {
      const hash = await store.endSession(userId, publicId);
      if (hash) cache.delete(key(hash));
      return hash;
    },
    async touchSession(tokenHash, t) {
      await store.touchSession(tokenHash, t);
      const hit = cache.get(key(tokenHash));
      if (hit) hit.session = { ...hit.session, lastUsedAt: t };
    },
    async purgeSessions(idleBefore, createdBefore) {
      cache.clear();
      return store.purgeSessions(idleBefore, createdBefore);
    },
    async changePassword(userId, hash, keep) {
      forgetUser(userId, keep ? key(keep) : undefined);
      return store.changePassword(userId, hash, keep);
    },
    async updateAccount(userId, change) {
      const result = await store.updateAccount(userId, change);
      if (result === "ok" && change.disabled) forgetUser(userId);
      return result;
    },
    async deleteAccount(userId, t) {
      const result = await store.deleteAccount(userId, t);
      if (result === "ok") forgetUser(userId);
      return result;
    },
  };
  return { store: cached, forget };
}
