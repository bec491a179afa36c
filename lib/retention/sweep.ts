// The retention sweep: every SWEEP_EVERY_MS of the injected clock (checked every real second), messages older
// than their room's retention (rooms.retention, else --retention; 0: kept forever) are deleted, rooms in id
// order, at most BATCH messages and BATCH room events per round (Store.expireMessages): each round is one short
// transaction on the writer (SQLite) or under the room's lock (PostgreSQL), so messages being sent wait at most
// one round, and memory holds one round. Then the files' bytes go (their rows went in the round), as after a
// message delete. Every instance sweeps; on PostgreSQL a round that finds another instance's round running
// ("busy") ends this instance's sweep, so rows are cut and counted once.
import { deleteBytes } from "../files/storage.ts";
import type { Logger } from "../log.ts";
import { startPeriodic } from "../periodic.ts";
import type { Store } from "../store/store.ts";

const SWEEP_EVERY_MS = 10 * 60 * 1000; // by the injected clock
const BATCH = 100;

export type RetentionDeps = {
  store: Pick<Store, "expireMessages">;
  storage: { delete(key: string): Promise<void> };
  serverSeconds: number; // --retention: 0 is off (rooms with their own retention are still swept)
  now: () => number;
  log: Logger;
  deleted: (n: number) => void; // the metric
};

// One sweep over every room; returns how many messages went.
export async function sweepRetention(deps: RetentionDeps): Promise<number> {
  const { store, storage, serverSeconds, now, log } = deps;
  let afterRoom = 0;
  let count = 0;
  for (;;) {
    const r = await store.expireMessages({ serverSeconds, now: now(), afterRoom, limit: BATCH });
    if (r === "busy") {
      log.debug("retention: another instance is sweeping");
      break;
    }
    if (r.roomId === null) break;
    await deleteBytes(storage, r.removedFiles, log, "an expired file's");
    log.debug("retention round", { room: r.roomId, count: r.messages });
    count += r.messages;
    deps.deleted(r.messages);
    afterRoom = r.roomDone ? r.roomId : r.roomId - 1;
  }
  if (count) log.info("retention swept", { count });
  else log.debug("retention swept", { count: 0 });
  return count;
}

// The periodic sweep, first SWEEP_EVERY_MS after start. stop() ends it and waits for a sweep under way.
export function startRetentionSweep(deps: RetentionDeps) {
  return startPeriodic({ ...deps, everyMs: SWEEP_EVERY_MS, what: "retention sweep", run: () => sweepRetention(deps) });
}
