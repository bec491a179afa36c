// Frames a client sends on its user stream, dispatched by type like the room socket's (frames.ts): the
// first is resume; then message, typing and read, each naming one of the stream's rooms.
import { isObject } from "../validate.ts";
import { type Frame, type FrameContext, sendTyping, storeMessage } from "./frames.ts";
import { sendError, type WS } from "./socket.ts";
import type { RoomFrame } from "../store/store.ts";

// waiting: hello sent, no resume yet; syncing: sending what was missed, live frames buffered; live.
// rooms: the stream's rooms and the last seq sent for each (live: the topics carry the rest).
// drained/stalledSince: a replay waiting for the socket to take what it was sent (flow control).
export type StreamState = {
  phase: "waiting" | "syncing" | "live";
  openedAt: number;
  rooms: Map<number, number>;
  buffer: RoomFrame[];
  drained?: () => void;
  stalledSince?: number;
};

type Handler = (ws: WS, s: StreamState, f: Frame) => unknown;

export function streamFrames(
  ctx: FrameContext,
  startSync: (ws: WS, s: StreamState, map: Map<number, number>) => void,
): Record<string, Handler> {
  // A room the stream may act in: one of its rooms, once synced.
  const ours = (s: StreamState, room: unknown): room is number =>
    typeof room === "number" && s.phase === "live" && s.rooms.has(room);
  return {
    resume(ws, s, f) {
      const map = s.phase === "waiting" ? resumeMap(f.rooms) : null;
      if (!map) return sendError(ws, "invalid_json");
      startSync(ws, s, map);
    },
    message(ws, s, f) {
      const clientId = typeof f.client_id === "string" ? f.client_id : null;
      if (!ours(s, f.room_id)) return sendError(ws, "room_not_found", clientId);
      return storeMessage(ctx, ws, f.room_id, f, true);
    },
    read(ws, s, f) {
      const id = f.message_id;
      if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return sendError(ws, "invalid_json");
      if (!ours(s, f.room_id)) return sendError(ws, "room_not_found");
      ctx.reads.mark(ws, f.room_id, id);
    },
    typing(ws, s, f) {
      if (!ours(s, f.room_id)) return sendError(ws, "room_not_found");
      sendTyping(ctx, ws, f.room_id);
    },
  };
}

// {"rooms":{"<room id>": <last seq seen>, …}}: positive integer ids, non-negative integer seqs.
function resumeMap(rooms: unknown): Map<number, number> | null {
  if (!isObject(rooms)) return null;
  const map = new Map<number, number>();
  for (const [key, seq] of Object.entries(rooms)) {
    const room = /^\d{1,15}$/.test(key) ? Number(key) : 0;
    if (room < 1 || typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return null;
    map.set(room, seq);
  }
  return map;
}
