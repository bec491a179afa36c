// An in-memory cache in front of the store's session lookups, so an authenticated request costs no
// database read. Everything that ends or changes a session here goes through the same store calls,
// which update the cache at once; what another process does (the CLI's `user passwd`, a logout on
// another instance) is seen within TTL_MS, when the entry is read from the database again.
import type { Session, Store } from "../store/store.ts";

const TTL_MS = 10_000;
const MAX_ENTRIES = 100_000;

export function withSessionCache(store: Store, now: () => number = Date.now): Store {
  const cache = new Map<string, { session: Session; at: number }>();
  const key = (hash: Uint8Array) => hash.toHex();
  return {
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
      const kept = keep && key(keep);
      for (const [k, { session }] of cache) if (session.userId === userId && k !== kept) cache.delete(k);
      return store.changePassword(userId, hash, keep);
    },
  };
}
