// Resume (?after=): the backlog from the store, then the live messages that came meanwhile, with no
// gap and nothing twice; a backlog longer than BACKLOG_CAP is replaced by a "resync" frame.
// Flow control: sending stops while more than PAUSE_BYTES wait in the socket's buffer and goes on at
// Bun's next drain, so a socket that does not read holds at most about PAUSE_BYTES here (the live
// sweep's 1 MiB limit is never reached by a backlog); one that takes nothing for STALL_MS is closed
// with 1013. Live messages wait in the room's joining buffer until the backlog is out, then go in order.
// Only a page of the backlog (KEEP_CHARS of text) is kept while it waits; the rest is read again as
// the socket takes it.
import type { Broker } from "../broker/broker.ts";
import { CLOSE } from "../errors.ts";
import { messageJson } from "../http/shapes.ts";
import type { Logger } from "../log.ts";
import type { Message, Store } from "../store/store.ts";
import type { RoomState } from "./room-state.ts";
import { send, type WS } from "./socket.ts";

const BACKLOG_CAP = 1000;
export const PAUSE_BYTES = 256 * 1024;
export const STALL_MS = 10_000;
const PAGE_ROWS = 100;
const KEEP_CHARS = 64 * 1024;

type Deps = {
  store: Store;
  broker: Broker;
  rooms: RoomState;
  now: () => number;
  log: Logger;
  onDeliver: (frames: number) => void;
  goLive: (ws: WS) => void;
};

// A socket still reading its backlog: what is left to send, and since when it has taken nothing.
type Sending = {
  queue: Array<Message | undefined>; // sent entries are cleared, so their texts can be collected
  next: number;
  last: number; // the newest id sent: buffered live messages up to it were in the backlog
  end: number; // the backlog's newest id: up to it pages come from the store, after it from the buffer
  reading: boolean; // a page is on its way from the store
  frame: (m: Message) => string;
  stalledSince: number | undefined;
};

// The first messages of a page, up to KEEP_CHARS of text (at least one).
function keep(page: Message[]): Message[] {
  let chars = 0;
  const n = page.findIndex((m) => (chars += m.text.length) > KEEP_CHARS);
  return n < 0 ? page : page.slice(0, Math.max(1, n));
}

export type Resumer = ReturnType<typeof createResumer>;

export function createResumer({ store, broker, rooms, now, log, onDeliver, goLive }: Deps) {
  const sending = new Map<WS, Sending>();

  async function start(ws: WS, after: number) {
    const room = ws.data.roomId;
    // Several instances: the backlog stops where this instance's delivery stands; everything after
    // that reaches the joining buffer in order, so nothing comes twice and nothing is skipped.
    const upto = broker.position(room) ?? Infinity;
    const backlog = (await store.listMessages(room, { after, limit: BACKLOG_CAP + 1 })).filter((m) => m.id <= upto);
    if (ws.readyState !== 1) return;
    const typed = ws.data.events.size > 0;
    const frame = (m: Message) => JSON.stringify(typed ? { type: "message", ...messageJson(m) } : messageJson(m));
    const resync = backlog.length > BACKLOG_CAP;
    if (resync) send(ws, { type: "resync", room_id: room });
    const s: Sending = {
      queue: resync ? [] : keep(backlog),
      next: 0,
      last: after,
      end: resync ? after : (backlog.at(-1)?.id ?? after),
      reading: false,
      frame,
      stalledSince: undefined,
    };
    sending.set(ws, s);
    pump(ws, s);
  }

  function readPage(ws: WS, s: Sending) {
    s.reading = true;
    store.listMessages(ws.data.roomId, { after: s.last, limit: PAGE_ROWS }).then(
      (page) => {
        s.reading = false;
        if (!sending.has(ws)) return; // closed meanwhile
        s.queue = keep(page.filter((m) => m.id <= s.end));
        s.next = 0;
        if (s.queue.length === 0) s.end = s.last; // nothing more up to the end: the buffer has the rest
        pump(ws, s);
      },
      (e) => {
        log.error("resume failed", { room: ws.data.roomId, error: String(e) });
        ws.close(1011, "resume failed");
      },
    );
  }

  // Sends until the buffer is past PAUSE_BYTES (then waits for drain) or nothing is left (then the
  // socket goes live in the same tick, so no live message falls between the buffer and the topic).
  function pump(ws: WS, s: Sending) {
    if (s.reading) return;
    const room = ws.data.roomId;
    let sent = 0;
    for (;;) {
      if (ws.getBufferedAmount() > PAUSE_BYTES) {
        s.stalledSince ??= now();
        return onDeliver(sent);
      }
      if (s.next === s.queue.length && s.last < s.end) {
        readPage(ws, s);
        return onDeliver(sent);
      }
      if (s.next === s.queue.length) {
        s.queue = rooms.takeBuffered(room, ws);
        s.next = 0;
        if (s.queue.length === 0) break;
      }
      const m = s.queue[s.next]!;
      s.queue[s.next++] = undefined;
      if (m.id <= s.last) continue; // the backlog already held it
      ws.send(s.frame(m));
      s.last = m.id;
      sent++;
    }
    onDeliver(sent);
    sending.delete(ws);
    rooms.finishJoining(room, ws);
    goLive(ws);
  }

  return {
    start,
    // Bun's drain: the socket took some of its buffer, so it is making progress.
    drain(ws: WS) {
      const s = sending.get(ws);
      if (!s) return;
      s.stalledSince = undefined;
      pump(ws, s);
    },
    closed: (ws: WS) => void sending.delete(ws),
    // From the hub's sweep: a socket that took nothing for STALL_MS never will.
    sweep() {
      const t = now();
      for (const [ws, s] of sending) {
        if (s.stalledSince !== undefined && t - s.stalledSince >= STALL_MS)
          ws.close(CLOSE.slowConsumer.code, CLOSE.slowConsumer.reason);
      }
    },
  };
}
