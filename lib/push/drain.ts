// The sending side of Web Push, on every instance: due rows of push_queue are claimed atomically (so each
// pending push goes out once, however many instances drain), checked again as they go (still away? read
// since? level? message deleted or too old?), encrypted (ece.ts), signed (vapid.ts) and posted (send.ts), at
// most CONCURRENCY at a time. Nothing here is awaited by the message path.
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { pushPayloadJson } from "../http/shapes.ts";
import type { PushJob, PushTarget, Store } from "../store/store.ts";
import { encryptPush, MAX_PLAINTEXT, readSubscriptionKeys } from "./ece.ts";
import type { Lookup } from "./endpoint.ts";
import { type SendResult, sendPush } from "./send.ts";
import type { VapidSigner } from "./vapid.ts";

export const TTL_S = 86_400; // the TTL header; a pending push of an older message is dropped
export const MAX_ATTEMPTS = 5; // failed sends (429, 5xx, network) before a push is given up
// At most one push per subscription and room this often; newer messages wait. A sent row is kept, due GAP_MS
// later, which spaces pushes on every instance.
export const GAP_MS = 5_000;
const CONCURRENCY = 16;
const CLAIM_MS = 120_000; // a claim outlives a send's timeout; a crashed instance's claims lapse after it
const TICK_MS = 500;
const BACKOFF_MS = 10_000; // the first retry's wait, doubled each time, capped
const MAX_BACKOFF_MS = 3_600_000;

type Deps = {
  store: Store;
  now: () => number;
  log: Logger;
  metrics: Metrics;
  signer: VapidSigner;
  preview: boolean;
  allowLoopback: boolean;
  lookup?: Lookup;
  online: () => number[] | Promise<number[]>;
};

// Why a claimed push is not sent after all; null: send it.
function skipReason(t: PushTarget | null, job: PushJob, online: Set<number>, now: number): string | null {
  if (!t) return "gone"; // the subscription, the membership or the message
  if (t.message.deleted) return "deleted";
  if (online.has(t.userId)) return "online";
  if (t.lastReadId >= job.messageId) return "read";
  if (t.notify === "none" || (t.notify === "mentions" && !t.message.mentions?.includes(t.userId))) return "level";
  if (t.message.createdAt < now - TTL_S * 1000) return "expired";
  return null;
}

export const backoffMs = (attempts: number, retryAfter?: number) =>
  Math.min(retryAfter ?? BACKOFF_MS * 2 ** (attempts - 1), retryAfter === undefined ? MAX_BACKOFF_MS : TTL_S * 1000);

export function createPushDrainer(deps: Deps) {
  const { store, now, log, metrics } = deps;
  const abort = new AbortController();
  const running = new Set<Promise<void>>();
  let claiming: Promise<void> | undefined; // the claim loop running, awaited at stop
  let again = false;
  let stopped = false;

  function drain() {
    if (claiming) return void (again = true);
    claiming = claimAndRun().finally(() => {
      claiming = undefined;
      if (again && !stopped) (again = false), drain();
    });
  }

  async function claimAndRun() {
    try {
      while (!stopped && running.size < CONCURRENCY) {
        const free = CONCURRENCY - running.size;
        const t = now();
        const jobs = await store.claimPushes(t, t + CLAIM_MS, free);
        if (jobs.length === 0) break;
        const online = new Set(await deps.online());
        for (const job of jobs) {
          const p = run(job, online).finally(() => (running.delete(p), jobs.length === free && drain()));
          running.add(p);
        }
        if (jobs.length < free) break;
      }
    } catch (e) {
      log.warn("push queue claim failed", { error: String(e) });
    }
  }

  async function run(job: PushJob, online: Set<number>) {
    try {
      const target = await store.findPushTarget(job);
      const skip = skipReason(target, job, online, now());
      if (skip || !target) {
        if (skip === "expired") metrics.pushFailed.inc({ reason: "expired" });
        return await store.dropPush(job);
      }
      await outcome(job, await post(job, target));
    } catch (e) {
      // The claim lapses and another drain tries again.
      if (!stopped) log.warn("push failed", { room: job.roomId, error: String(e) });
    }
  }

  async function post(job: PushJob, t: PushTarget): Promise<SendResult> {
    const keys = await readSubscriptionKeys(t.p256dh, t.auth);
    if (!keys) return { kind: "gone", status: 0 };
    let plain = new TextEncoder().encode(JSON.stringify(pushPayloadJson(t, deps.preview)));
    if (plain.length > MAX_PLAINTEXT) plain = new TextEncoder().encode(JSON.stringify(pushPayloadJson(t, false)));
    const urgent = t.roomKind === "direct" || (t.message.mentions?.includes(t.userId) ?? false);
    const headers = {
      "content-type": "application/octet-stream",
      "content-encoding": "aes128gcm",
      ttl: String(TTL_S),
      urgency: urgent ? "high" : "normal",
      topic: `r${job.roomId}`,
      authorization: await deps.signer.authorization(job.endpoint),
    };
    const body = await encryptPush(plain, keys);
    return sendPush(job.endpoint, body, headers, {
      allowLoopback: deps.allowLoopback,
      lookup: deps.lookup,
      signal: abort.signal,
    });
  }

  async function outcome(job: PushJob, r: SendResult) {
    const t = now();
    if (r.kind === "sent") {
      await store.sentPush(job, t + GAP_MS);
      return metrics.pushSent.inc();
    }
    if (r.kind === "gone") {
      await store.deletePushEndpoint(job.endpoint);
      return metrics.pushFailed.inc({ reason: "gone" });
    }
    if (r.kind === "retry" && job.attempts + 1 < MAX_ATTEMPTS) {
      await store.retryPush(job, t + backoffMs(job.attempts + 1, r.retryAfterMs), job.attempts + 1);
      return metrics.pushFailed.inc({ reason: "retry" });
    }
    await store.dropPush(job);
    const reason = r.kind === "retry" ? "gave_up" : r.kind === "refused" ? "endpoint" : "rejected";
    metrics.pushFailed.inc({ reason });
    log.warn("push not sent", { room: job.roomId, reason, detail: "why" in r ? r.why : undefined });
  }

  const tick = setInterval(drain, TICK_MS);
  tick.unref();

  return {
    // Rows were written: look now rather than at the next tick.
    flushed: drain,
    async stop() {
      stopped = true;
      clearInterval(tick);
      abort.abort();
      await claiming;
      await Promise.allSettled([...running]);
    },
  };
}
