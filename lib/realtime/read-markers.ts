// Read markers from `read` frames, coalesced: a socket's first marker is written at once, later ones
// at most once per WRITE_EVERY_MS (the highest pending marker wins), a marker not above what the
// socket last stored writes nothing, and a pending marker is written when the socket closes or the
// server stops (flush). Each write's result, the stored marker, is announced as a `read` event (with
// the room's unread count and unread mentions for the reader, which only the reader's own streams are told).
import type { Broker } from "../broker/broker.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import { sendError, type WS } from "./socket.ts";

export const WRITE_EVERY_MS = 1000;

// One socket's marker in one room (a room socket has one room; a user stream, any of its rooms).
type Marker = { ws: WS; room: number; stored: number; pending: number; writtenAt: number };
type Deps = { store: Store; broker: Broker; now: () => number; log: Logger };

export type ReadMarkers = ReturnType<typeof createReadMarkers>;

export function createReadMarkers({ store, broker, now, log }: Deps) {
  const markers = new Map<WS, Map<number, Marker>>(); // sockets that sent a read frame, by room
  const waiting = new Set<Marker>(); // those with a pending marker
  const writing = new Set<Promise<void>>();

  function write(m: Marker) {
    const id = m.pending;
    m.pending = 0;
    m.writtenAt = now();
    waiting.delete(m);
    const { ws, room } = m;
    const { userId } = ws.data;
    const done = store.markRead(room, userId, id).then(
      ({ marker, unread, mentions }) => {
        m.stored = Math.max(m.stored, marker);
        // A marker that came while this write was on its way and is not above its result: nothing to write.
        if (m.pending <= m.stored) (m.pending = 0), waiting.delete(m);
        broker.event(room, "read", { user_id: userId, message_id: marker, unread, mentions });
      },
      (e) => {
        if (!(e instanceof ApiError)) log.error("storing a read marker failed", { room, error: String(e) });
        if (ws.readyState === 1) sendError(ws, e instanceof ApiError ? e.code : "internal_error");
      },
    );
    writing.add(done);
    void done.then(() => writing.delete(done));
  }

  return {
    mark(ws: WS, room: number, id: number) {
      let mine = markers.get(ws);
      if (!mine) markers.set(ws, (mine = new Map()));
      let m = mine.get(room);
      if (!m) mine.set(room, (m = { ws, room, stored: 0, pending: 0, writtenAt: -Infinity }));
      if (id <= m.stored || id <= m.pending) return;
      m.pending = id;
      if (now() - m.writtenAt >= WRITE_EVERY_MS) write(m);
      else waiting.add(m);
    },
    // From the hub's sweep: pending markers whose second has passed.
    sweep() {
      const t = now();
      for (const m of waiting) if (t - m.writtenAt >= WRITE_EVERY_MS) write(m);
    },
    closed(ws: WS) {
      const mine = markers.get(ws);
      markers.delete(ws);
      for (const m of mine?.values() ?? []) if (m.pending) write(m);
    },
    // Shutdown: every pending marker now, and every write in flight finished, before the store closes.
    async flush() {
      for (const m of waiting) write(m);
      await Promise.all(writing);
    },
  };
}
