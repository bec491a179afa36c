// Messages go through the shared group-commit queue to the writer worker, packed (batch.ts). The
// worker takes batches in order and answers in order (see lib/store/commit-queue.ts). Room changes
// (room-changes.ts) go to the same worker between batches, so every frame of a room's order commits
// and is answered in that order, and this thread publishes in it.
import type { Config } from "../../config.ts";
import { createCommitQueue } from "../commit-queue.ts";
import { memberOnly, type NotStored } from "../members.ts";
import { type Packed, pack } from "./batch.ts";
import type { FileRef, Message, NewMessage, Stored } from "../store.ts";

export type Request =
  | { kind: "open"; path: string; synchronous: "full" | "normal" }
  | ({ kind: "write" } & Packed)
  | { kind: "change"; op: string; args: unknown[] }
  | { kind: "close" };
type Written = Extract<Reply, { kind: "written" }>;
export type Reply =
  | {
      kind: "written";
      results: (number | Message | NotStored)[];
      seqs: number[];
      mentions: [number, number[]][];
      files: [number, FileRef[]][];
    }
  | { kind: "changed"; result: unknown; eventId: number }
  | { kind: "failed"; error: string; busy?: boolean }
  | { kind: "closed" };

// A compiled binary embeds the worker as a second entrypoint, found by its path from the build root:
// bun build --compile --root . main.ts lib/store/sqlite/writer.worker.ts (docs/performance.md).
const COMPILED = import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");
const WORKER = COMPILED ? "./lib/store/sqlite/writer.worker.ts" : new URL("./writer.worker.ts", import.meta.url).href;

// One batch in flight: the next is posted as soon as the last one's answer arrives, before its
// messages are published, so the worker commits while this thread publishes. A second batch in
// flight only waited in the worker's queue, and splitting the waiting messages in two doubled the
// commits (and the fsyncs, the worker's main cost with few senders): docs/performance.md.
const MAX_IN_FLIGHT = 1;

type Waiting = { resolve: (r: Reply) => void; reject: (e: unknown) => void };

// newest: the highest message id and room event id already in the database when the store opens.
export function startMessageWriter(config: Config, newest: { message: number; event: number }) {
  const worker = new Worker(WORKER);
  worker.postMessage({ kind: "open", path: config.db, synchronous: config.synchronous } satisfies Request);
  const waiting: Waiting[] = []; // one per batch posted, oldest first: the worker answers in order
  let broken: Error | null = null;
  let onClosed: (() => void) | null = null;
  let visible = newest.message; // highest message id whose promise has resolved
  let visibleEvent = newest.event; // likewise for room events

  worker.onmessage = (e: MessageEvent<Reply>) => {
    if (e.data.kind === "closed") return onClosed?.();
    waiting.shift()!.resolve(e.data);
  };
  worker.onerror = (e) => {
    broken = new Error(
      `message writer failed: ${e.message}${COMPILED ? " (was the binary built with the worker entrypoint?)" : ""}`,
    );
    for (const w of waiting.splice(0)) w.reject(broken);
  };

  async function writeBatch(inputs: NewMessage[]): Promise<(Stored | NotStored)[]> {
    if (broken) throw broken;
    const reply = await new Promise<Reply>((resolve, reject) => {
      waiting.push({ resolve, reject });
      const packed = pack(inputs);
      worker.postMessage({ kind: "write", ...packed } satisfies Request, [packed.meta.buffer]);
    });
    if (reply.kind !== "written") throw new Error(reply.kind === "failed" ? reply.error : "writer closed");
    for (const r of reply.results) if (typeof r === "number" && r > visible) visible = r;
    return toStored(inputs, reply);
  }

  // A room change, between batches: the worker answers it in its turn.
  async function change(op: string, args: unknown[]): Promise<unknown> {
    if (broken) throw broken;
    const reply = await new Promise<Reply>((resolve, reject) => {
      waiting.push({ resolve, reject });
      worker.postMessage({ kind: "change", op, args } satisfies Request);
    });
    if (reply.kind === "failed" && reply.busy) throw Object.assign(new Error(reply.error), { code: "SQLITE_BUSY" });
    if (reply.kind !== "changed") throw new Error(reply.kind === "failed" ? reply.error : "writer closed");
    if (reply.eventId > visibleEvent) visibleEvent = reply.eventId;
    return reply.result;
  }

  const queue = createCommitQueue(writeBatch, MAX_IN_FLIGHT);
  return {
    visibleUpTo: () => visible,
    visibleEventsUpTo: () => visibleEvent,
    change,
    write: (input: NewMessage): Promise<Stored> =>
      broken ? Promise.reject(broken) : queue.write(input).then(memberOnly),
    async close() {
      await queue.drain();
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

// A number is the new message's id (seqs holds its seq; mentions whom it mentions); a Message is the
// earlier one with the same client_id; null: the sender is no longer a member; "message_not_found": its
// reply_to is no live message of the room; "invalid_files": its files are not the sender's to attach.
function toStored(inputs: NewMessage[], { results, seqs, mentions, files }: Written): (Stored | NotStored)[] {
  const mentioned = new Map(mentions);
  const attached = new Map(files);
  return results.map((r, i): Stored | NotStored => {
    if (r === null || typeof r === "string") return r;
    if (typeof r !== "number") return { message: r, duplicate: true };
    const { roomId, userId, text, clientId, now, replyTo } = inputs[i]!;
    const message: Message = { id: r, roomId, userId, text, clientId, createdAt: now, seq: seqs[i]! };
    if (replyTo) message.replyTo = replyTo;
    const ids = mentioned.get(i);
    if (ids) message.mentions = ids;
    const refs = attached.get(i);
    if (refs) message.files = refs;
    return { message, duplicate: false };
  });
}
