// Group commit through the writer worker: the messages that arrive while earlier batches are being
// committed form the next batch. Two batches may be in flight, so the worker starts the next
// commit while this thread still publishes the last one. The worker takes batches in order and
// answers in order, so ids, acks and publishes keep arrival order (and so per-room order);
// a promise resolves only after its commit.
import type { Config } from "../../config.ts";
import type { Message, NewMessage, Stored } from "../store.ts";

export type Row = [roomId: number, userId: number, text: string, clientId: string | null, now: number];
export type Request =
  | { kind: "open"; path: string; synchronous: "full" | "normal" }
  | { kind: "write"; rows: Row[] }
  | { kind: "close" };
export type Reply =
  | { kind: "written"; results: (number | Message)[] }
  | { kind: "failed"; error: string }
  | { kind: "closed" };

// A compiled binary embeds the worker as a second entrypoint, found by its path from the build root:
// bun build --compile --root . main.ts lib/store/sqlite/writer.worker.ts (docs/performance.md).
const COMPILED = import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");
const WORKER = COMPILED ? "./lib/store/sqlite/writer.worker.ts" : new URL("./writer.worker.ts", import.meta.url).href;

const MAX_IN_FLIGHT = 2;

type Pending = { input: NewMessage; resolve: (s: Stored) => void; reject: (e: unknown) => void };

// newest: the highest message id already in the database when the store opens.
export function startMessageWriter(config: Config, newest: number) {
  const worker = new Worker(WORKER);
  worker.postMessage({ kind: "open", path: config.db, synchronous: config.synchronous } satisfies Request);
  let queue: Pending[] = [];
  const inFlight: Pending[][] = []; // oldest first
  let scheduled = false;
  let broken: Error | null = null;
  let onIdle: (() => void) | null = null;
  let onClosed: (() => void) | null = null;
  let visible = newest; // highest id whose promise has resolved

  function send() {
    scheduled = false;
    if (inFlight.length >= MAX_IN_FLIGHT || queue.length === 0) return;
    const batch = queue;
    queue = [];
    inFlight.push(batch);
    const rows = batch.map(({ input: m }): Row => [m.roomId, m.userId, m.text, m.clientId, m.now]);
    worker.postMessage({ kind: "write", rows } satisfies Request);
  }

  function settle(each: (p: Pending, i: number) => void) {
    const batch = inFlight.shift()!;
    batch.forEach(each);
    if (queue.length) send();
    else if (inFlight.length === 0) onIdle?.();
  }

  worker.onmessage = (e: MessageEvent<Reply>) => {
    const reply = e.data;
    if (reply.kind === "closed") return onClosed?.();
    if (reply.kind === "failed") return settle((p) => p.reject(new Error(reply.error)));
    for (const r of reply.results) if (typeof r === "number" && r > visible) visible = r;
    settle((p, i) => {
      const r = reply.results[i]!;
      if (typeof r !== "number") return p.resolve({ message: r, duplicate: true });
      const { roomId, userId, text, clientId, now } = p.input;
      p.resolve({
        message: { id: r, roomId, userId, text, clientId, createdAt: now },
        duplicate: false,
        prev: null, // one instance: nothing orders by it
      });
    });
  };
  worker.onerror = (e) => {
    broken = new Error(
      `message writer failed: ${e.message}${COMPILED ? " (was the binary built with the worker entrypoint?)" : ""}`,
    );
    for (const p of queue.splice(0)) p.reject(broken);
    while (inFlight.length) settle((p) => p.reject(broken));
  };

  return {
    visibleUpTo: () => visible,
    write(input: NewMessage): Promise<Stored> {
      if (broken) return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject });
        // Gather what arrives in this turn of the event loop; with both slots taken, arrivals wait for one.
        if (inFlight.length < MAX_IN_FLIGHT && !scheduled) {
          scheduled = true;
          setImmediate(send);
        }
      });
    },
    async close() {
      if (inFlight.length || queue.length) {
        await new Promise<void>((r) => (onIdle = r));
      }
      if (!broken) {
        await new Promise<void>((r) => {
          onClosed = r;
          worker.postMessage({ kind: "close" } satisfies Request);
        });
      }
      worker.terminate();
    },
  };
}
