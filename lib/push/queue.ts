// The message path's side of Web Push: each message stored on this instance is noted here, in memory and
// without awaiting anything, coalesced per room (the newest message, and per mentioned member the newest
// message mentioning them); a flusher hands what gathered to the store every FLUSH_MS, which writes one
// push_queue row per subscription and room concerned (one statement, so one transaction; on SQLite it may wait for
// the message writer's commit, so not more often). Bounded: past MAX_PENDING entries new ones are dropped and
// counted. A push is best-effort; a message never is.
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Message, PushNews, Store } from "../store/store.ts";

export const MAX_PENDING = 10_000; // rooms plus mentioned members waiting for the next flush
const FLUSH_MS = 250;

type Pending = { messageId: number; senderId: number; mentions: Map<number, number> };
type Deps = {
  store: Store;
  now: () => number;
  log: Logger;
  metrics: Metrics;
  delayMs: number;
  online: () => number[] | Promise<number[]>; // users with a socket open on any instance
  flushed: () => void; // rows may be due now: the drainer looks
};

export type PushQueue = ReturnType<typeof createPushQueue>;

export function createPushQueue({ store, now, log, metrics, delayMs, online, flushed }: Deps) {
  let pending = new Map<number, Pending>();
  let size = 0;
  let timer: Timer | undefined;
  let flushing: Promise<void> | undefined;
  let stopped = false;

  const full = () => (metrics.pushFailed.inc({ reason: "full" }), false);
  const take = () => (size < MAX_PENDING ? (size++, true) : full());

  function stored(m: Message) {
    let p = pending.get(m.roomId);
    if (!p) {
      if (!take()) return;
      pending.set(m.roomId, (p = { messageId: m.id, senderId: m.userId, mentions: new Map() }));
    } else if (m.id > p.messageId) {
      p.messageId = m.id;
      p.senderId = m.userId;
    }
    if (m.mentions) {
      for (const user of m.mentions) {
        if (user === m.userId) continue;
        if (p.mentions.has(user) || take()) p.mentions.set(user, Math.max(m.id, p.mentions.get(user) ?? 0));
      }
    }
    if (!stopped) timer ??= setTimeout(flush, FLUSH_MS);
  }

  function flush(): Promise<void> {
    timer = undefined;
    if (flushing || pending.size === 0) return flushing ?? Promise.resolve();
    const batch = pending;
    pending = new Map();
    size = 0;
    const news: PushNews[] = [...batch].map(([roomId, p]) => ({
      roomId,
      messageId: p.messageId,
      senderId: p.senderId,
      mentions: [...p.mentions],
    }));
    flushing = (async () => {
      try {
        await store.enqueuePushes(news, await online(), now() + delayMs);
        flushed();
      } catch (e) {
        metrics.pushFailed.inc({ reason: "enqueue" }, news.length);
        log.warn("push queue write failed", { rooms: news.length, error: String(e) });
      }
    })().finally(() => {
      flushing = undefined;
      if (pending.size > 0 && !stopped) timer ??= setTimeout(flush, FLUSH_MS);
    });
    return flushing;
  }

  return {
    stored,
    // Shutdown: what gathered is written, so another instance (or the next start) sends it.
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await flushing;
      await flush();
    },
  };
}
