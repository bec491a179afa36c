// A database that is away or busy is not a bug: both stores turn those errors into
// ApiError("unavailable") (503 over HTTP, an error frame on a socket) with one wrapper around every
// method. `mapError` says which errors those are; anything else passes unchanged.
import type { Store } from "./store.ts";

export function guardStore(store: Store, mapError: (e: unknown) => unknown, except: (keyof Store)[] = []): Store {
  for (const [name, fn] of Object.entries(store)) {
    if (typeof fn !== "function" || except.includes(name as keyof Store)) continue;
    (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve(fn(...args)).catch((e) => Promise.reject(mapError(e)));
      } catch (e) {
        return Promise.reject(mapError(e));
      }
    };
  }
  return store;
}
