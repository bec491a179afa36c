// Resume (?after=): the backlog from the store, then the live frames that came meanwhile, with no
// gap and nothing twice; a backlog longer than BACKLOG_CAP is replaced by a "resync" frame. A socket
// that opted in to "members" or "changes" resumes in the room's order (after= is a seq; messages and the
// events it asked for: membership and room changes, message changes); any other in message ids, with
// messages only, as before.
// Flow control: sending stops while more than PAUSE_BYTES wait in the socket's buffer and goes on at
// Bun's next drain, so a socket that does not read holds at most about PAUSE_BYTES here (the live
// sweep's 1 MiB limit is never reached by a backlog); one that takes nothing for STALL_MS is closed
// with 1013. Live messages wait in the room's joining buffer until the backlog is out, then go in order.
// Only a page of the backlog (KEEP_CHARS of text) is kept while it waits; the rest is read again as
// the socket takes it.
import type { Broker } from "../broker/broker.ts";
import { CLOSE } from "../errors.ts";
import { type FileUrl, messageJson, roomEventJson } from "../http/shapes.ts";
import type { Logger } from "../log.ts";
import { frameSeq, type RoomFrame, type Store } from "../store/store.ts";
import type { RoomState } from "./room-state.ts";
import { send, type WS } from "./socket.ts";
import { optInOf } from "./topics.ts";

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
  fileUrl: FileUrl;
};

// How a socket counts and reads its room: by message id (plain sockets, messages only) or by seq
// (sockets with events=members or changes, every durable frame). key: undefined for a frame outside the
// order. far: the gap is known to be past the cap without reading it. frame: undefined for a frame in
// the order that the socket did not ask for (it is passed over, its seq counted as seen). cut: retention
// deleted frames after `after` (first: the backlog's first frame), so the client is told to resync.
type Order = {
  key: (f: RoomFrame) => number | undefined;
  far: (after: number) => Promise<boolean>;
  cut: (after: number, first: RoomFrame | undefined) => Promise<boolean>;
  read: (after: number, limit: number) => Promise<RoomFrame[]>;
  frame: (f: RoomFrame) => string | undefined;
};

// A socket still reading its backlog: what is left to send, and since when it has taken nothing.
type Sending = {
  queue: Array<RoomFrame | undefined>; // sent entries are cleared, so their texts can be collected
  next: number;
  last: number; // the newest key sent: buffered live frames up to it were in the backlog
  end: number; // the backlog's newest key: up to it pages come from the store, after it from the buffer
  reading: boolean; // a page is on its way from the store
  order: Order;
  stalledSince: number | undefined;
};

// The first frames of a page, up to KEEP_CHARS of text (at least one).
function keep(page: RoomFrame[]): RoomFrame[] {
  let chars = 0;
  const n = page.findIndex((f) => (chars += f.kind === "message" ? f.message.text.length : 200) > KEEP_CHARS);
  return n < 0 ? page : page.slice(0, Math.max(1, n));
}

export type Resumer = ReturnType<typeof createResumer>;

export function createResumer({ store, broker, rooms, now, log, onDeliver, goLive, fileUrl }: Deps) {
  const sending = new Map<WS, Sending>();

  function orderOf(ws: WS): Order {
    const room = ws.data.roomId;
    const typed = ws.data.events.size > 0;
    const messageFrame = (f: RoomFrame & { kind: "message" }) =>
      JSON.stringify(typed ? { type: "message", ...messageJson(f.message, fileUrl) } : messageJson(f.message, fileUrl));
    const events = ws.data.events;
    const frame = (f: RoomFrame) => {
      if (f.kind === "message") return messageFrame(f);
      return events.has(optInOf(f)) ? JSON.stringify(roomEventJson(f, fileUrl)) : undefined;
    };
    if (events.has("members") || events.has("changes")) {
      // Reading after a seq walks the missed rows (Store.listFrames): a gap the room's seq shows to be
      // far past the cap (more than twice: the seq may count frames still being answered) is not read.
      const far = async (after: number) => ((await store.latestSeqs([room])).get(room) ?? 0) - after > 2 * BACKLOG_CAP;
      // The kept history starts at seq F (Store.historyStarts): after F - 1 nothing was cut. A backlog that
      // starts right after `after` needs no read.
      const cut = async (after: number, first: RoomFrame | undefined) => {
        if (first && frameSeq(first) === after + 1) return false;
        const start = (await store.historyStarts([room])).get(room);
        return start !== undefined && after < start.seq - 1;
      };
      return { key: frameSeq, far, cut, read: (after, limit) => store.listFrames(room, after, limit), frame };
    }
    const read = async (after: number, limit: number) =>
      (await store.listMessages(room, { after, limit })).map((message): RoomFrame => ({ kind: "message", message }));
    const key = (f: RoomFrame) => (f.kind === "message" ? f.message.id : undefined);
    return { key, far: async () => false, cut: (after) => cutBefore(room, after), read, frame };
  }

  // By message id: a room whose history was cut (it no longer starts at seq 1) and whose oldest kept message
  // is past `after` (or none is kept) lost messages the client may hold or lack. after=0 holds nothing.
  async function cutBefore(room: number, after: number) {
    if (after === 0) return false;
    const start = (await store.historyStarts([room])).get(room);
    return !!start && start.seq > 1 && (start.messageId === null || after < start.messageId);
  }

  async function start(ws: WS, after: number) {
    const room = ws.data.roomId;
    // Several instances: the backlog stops where this instance's delivery stands (a seq); everything
    // after that reaches the joining buffer in order, so nothing comes twice and nothing is skipped.
    const upto = broker.position(room) ?? Infinity;
    const order = orderOf(ws);
    const far = await order.far(after);
    const backlog = far ? [] : (await order.read(after, BACKLOG_CAP + 1)).filter((f) => frameSeq(f) <= upto);
    const resync = far || backlog.length > BACKLOG_CAP || (await order.cut(after, backlog[0]));
    if (ws.readyState !== 1) return;
    if (resync) send(ws, { type: "resync", room_id: room });
    const s: Sending = {
      queue: resync ? [] : keep(backlog),
      next: 0,
      last: after,
      end: resync || backlog.length === 0 ? after : order.key(backlog.at(-1)!)!,
      reading: false,
      order,
      stalledSince: undefined,
    };
    sending.set(ws, s);
    pump(ws, s);
  }

  function readPage(ws: WS, s: Sending) {
    s.reading = true;
    s.order.read(s.last, PAGE_ROWS).then(
      (page) => {
        s.reading = false;
        if (!sending.has(ws)) return; // closed meanwhile
        s.queue = keep(page.filter((f) => s.order.key(f)! <= s.end));
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
      const f = s.queue[s.next]!;
      s.queue[s.next++] = undefined;
      const key = s.order.key(f);
      if (key === undefined || key <= s.last) continue; // not for this socket, or the backlog held it
      const json = s.order.frame(f);
      s.last = key;
      if (json === undefined) continue;
      ws.send(json);
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
