// The orphan sweep: uploads never attached to a message are removed ORPHAN_AGE_MS after their upload, rows
// first (a row is deleted only while still unattached, in one statement, so an attach racing the sweep
// either wins and keeps its file or finds it gone: invalid_files), then the bytes. A crash between the two
// leaves bytes with no row; nothing reads them. Every instance sweeps: two at once delete disjoint rows,
// and deleting bytes twice is harmless. Timed by the injected clock, checked every second of real time (../periodic.ts).
import { deleteBytes } from "./storage.ts";
import type { Logger } from "../log.ts";
import { startPeriodic } from "../periodic.ts";
import type { Store } from "../store/store.ts";

export const ORPHAN_AGE_MS = 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 10 * 60 * 1000; // by the injected clock
const BATCH = 100;

export type SweepDeps = {
  store: Pick<Store, "deleteUnattachedFiles">;
  storage: { delete(key: string): Promise<void> };
  now: () => number;
  log: Logger;
};

// One sweep: every unattached file uploaded before now - ORPHAN_AGE_MS, in batches. Returns how many.
export async function sweepOrphans({ store, storage, now, log }: SweepDeps): Promise<number> {
  const before = now() - ORPHAN_AGE_MS;
  let removed = 0;
  for (;;) {
    const keys = await store.deleteUnattachedFiles(before, BATCH);
    await deleteBytes(storage, keys, log, "an unattached file's");
    removed += keys.length;
    if (keys.length < BATCH) break;
  }
  if (removed) log.info("unattached files swept", { count: removed });
  else log.debug("unattached files swept", { count: 0 });
  return removed;
}

// The periodic sweep, first SWEEP_EVERY_MS after start. stop() ends it and waits for a sweep under way.
export function startOrphanSweep(deps: SweepDeps) {
  return startPeriodic({ ...deps, everyMs: SWEEP_EVERY_MS, what: "orphan file sweep", run: () => sweepOrphans(deps) });
}
