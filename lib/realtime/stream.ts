// The user stream (WS /v1/stream): one socket over all of a user's rooms. On open it says hello; the
// client's first frame is resume (its last seq per room); nothing live goes out before the server has
// sent, per room, what was missed (stream-sync.ts) and then "synced". Live, the stream gets every
// durable frame of its rooms through the rooms' typed-message, members and changes topics (the same
// publishes as room sockets: no extra cost per message) and typing, "room" when its user is added to a
// room and "room_removed" when removed, read markers (read()) and the presence of the users it shares a
// room with (user-presence.ts), and its user's settings in a room (settings()). A client sends messages, typing and read markers with a room_id.
import type { EventBody } from "../broker/broker.ts";
import { CLOSE } from "../errors.ts";
import { roomJson } from "../http/shapes.ts";
import type { Logger } from "../log.ts";
import type { Room, RoomEvent, RoomFrame } from "../store/store.ts";
import { isObject } from "../validate.ts";
import type { FrameContext } from "./frames.ts";
import { PAUSE_BYTES, STALL_MS } from "./resume.ts";
import { send, sendError, type WS } from "./socket.ts";
import { type StreamState, streamFrames } from "./stream-frames.ts";
import { topic } from "./topics.ts";
import type { UserPresence } from "./user-presence.ts";

export type { StreamState };

export const RESUME_WAIT_MS = 10_000;
export { STALL_MS };

// A stream's topics in each of its rooms: the typed messages, membership and room changes, message changes
// (edits, deletes, reactions), typing. Read
// markers are sent to each stream of the room by read() (the reader's own with the room's unread).
const TOPICS = [
  topic.typed,
  (room: number) => topic.event(room, "members"),
  (room: number) => topic.event(room, "changes"),
  (room: number) => topic.event(room, "typing"),
];

type Deps = {
  log: Logger;
  now: () => number;
  frames: FrameContext;
  subscriptionsChanged: (room: number) => void;
  sync: (ws: WS, s: StreamState, map: Map<number, number>) => Promise<void>;
  presence: UserPresence;
};

export type Streams = ReturnType<typeof createStreams>;

export function createStreams(deps: Deps) {
  const { log, now, frames } = deps;
  const states = new Map<WS, StreamState>();
  const syncing = new Set<StreamState>();
  const byUser = new Map<number, Set<WS>>();
  const byRoom = new Map<number, Set<WS>>(); // room -> streams here that have it

  function addRoom(ws: WS, s: StreamState, room: number, seq: number) {
    if (!s.rooms.has(room)) {
      let set = byRoom.get(room);
      if (!set) byRoom.set(room, (set = new Set()));
      set.add(ws);
    }
    s.rooms.set(room, seq);
    if (s.phase !== "live") return;
    subscribe(ws, room);
  }
  function dropRoom(ws: WS, s: StreamState, room: number) {
    if (!s.rooms.delete(room)) return;
    byRoom.get(room)?.delete(ws);
    if (byRoom.get(room)?.size === 0) byRoom.delete(room);
    if (s.phase !== "live") return;
    for (const t of TOPICS) ws.unsubscribe(t(room));
    deps.subscriptionsChanged(room);
  }
  function subscribe(ws: WS, room: number) {
    for (const t of TOPICS) ws.subscribe(t(room));
    deps.subscriptionsChanged(room);
  }

  // A members change that adds or removes this stream's user: "room" (and its topics) or "room_removed".
  function membership(ws: WS, s: StreamState, e: RoomEvent & { kind: "members" }) {
    const me = ws.data.userId;
    if (e.added.includes(me) && !s.rooms.has(e.roomId)) {
      send(ws, roomFrame(e.room));
      addRoom(ws, s, e.roomId, e.seq);
    } else if (e.removed.includes(me) && s.rooms.has(e.roomId)) {
      send(ws, { type: "room_removed", room_id: e.roomId });
      dropRoom(ws, s, e.roomId);
    }
  }

  // resume: from waiting to syncing, once (stream-sync.ts does the rest).
  const FRAMES = streamFrames(frames, (ws, s, map) => {
    s.phase = "syncing";
    syncing.add(s);
    deps.sync(ws, s, map).catch((e) => {
      log.error("stream resume failed", { user: ws.data.userId, error: String(e) });
      ws.close(1011, "resume failed");
    });
  });

  return {
    interested: (room: number) => byRoom.has(room),
    syncing: () => syncing.size > 0,
    alive: (ws: WS) => states.has(ws),
    open(ws: WS) {
      const s: StreamState = { phase: "waiting", openedAt: now(), rooms: new Map(), buffer: [] };
      states.set(ws, s);
      let mine = byUser.get(ws.data.userId);
      if (!mine) byUser.set(ws.data.userId, (mine = new Set()));
      mine.add(ws);
    },
    // Not async: the handler's promise goes back as is (another async layer cost a promise per message).
    message(ws: WS, frame: unknown) {
      const s = states.get(ws);
      if (!s) return;
      if (!isObject(frame)) return sendError(ws, "invalid_json");
      const type = frame.type ?? "message";
      if (typeof type !== "string") return sendError(ws, "invalid_json");
      if (!Object.hasOwn(FRAMES, type)) return sendError(ws, "unknown_type");
      return FRAMES[type]!(ws, s, frame);
    },
    close(ws: WS) {
      const s = states.get(ws);
      if (!s) return;
      states.delete(ws);
      syncing.delete(s);
      s.drained?.(); // a replay waiting for a drain ends (its socket is closed)
      byUser.get(ws.data.userId)?.delete(ws);
      if (byUser.get(ws.data.userId)?.size === 0) byUser.delete(ws.data.userId);
      for (const room of [...s.rooms.keys()]) dropRoom(ws, s, room);
      deps.presence.stop(ws);
    },
    // A stored read marker: to every live stream in the room, with the room's unread and unread mentions
    // for the reader's own.
    read(room: number, body: EventBody) {
      const { unread, mentions, ...receipt } = body;
      const other = JSON.stringify({ type: "read", room_id: room, ...receipt });
      const own = JSON.stringify({ type: "read", room_id: room, ...receipt, unread, mentions });
      for (const ws of byRoom.get(room) ?? []) {
        if (states.get(ws)?.phase !== "live") continue;
        ws.send(ws.data.userId === body.user_id && unread !== undefined ? own : other);
      }
    },
    // A user's settings in a room changed: to that user's live streams here (the room's other members never
    // hear of it).
    settings(room: number, { user_id, notify }: EventBody) {
      const json = JSON.stringify({ type: "settings", room_id: room, notify });
      for (const ws of byUser.get(user_id) ?? []) if (states.get(ws)?.phase === "live") ws.send(json);
    },
    // Every durable frame delivered here: buffered for syncing streams; a members change reaches the
    // live streams of the users it adds or removes.
    frame(f: RoomFrame) {
      for (const s of syncing) s.buffer.push(f);
      if (f.kind !== "members") return;
      deps.presence.members(f);
      for (const userId of [...f.added, ...f.removed]) {
        for (const ws of byUser.get(userId) ?? []) {
          const s = states.get(ws)!;
          if (s.phase === "live") membership(ws, s, f);
        }
      }
    },
    addRoom,
    dropRoom,
    membership,
    // Synced: the buffer was sent; subscribe to every room in the same turn, so nothing falls between.
    goLive(ws: WS, s: StreamState) {
      s.phase = "live";
      syncing.delete(s);
      s.buffer = [];
      for (const room of s.rooms.keys()) subscribe(ws, room);
    },
    // The replay sends while less than PAUSE_BYTES wait unread, else waits for Bun's drain.
    // undefined: go on now; else a promise the drain resolves.
    roomToSend(ws: WS, s: StreamState): Promise<void> | undefined {
      if (ws.getBufferedAmount() <= PAUSE_BYTES) return undefined;
      s.stalledSince = now();
      return new Promise<void>((resolve) => (s.drained = resolve));
    },
    drain(ws: WS) {
      const s = states.get(ws);
      const resume = s?.drained;
      if (!s || !resume) return;
      s.drained = s.stalledSince = undefined;
      resume();
    },
    // From the hub's sweep: a stream that sent no resume within RESUME_WAIT_MS is closed with 1008; one
    // whose replay took nothing for STALL_MS, with 1013 (as a room socket's backlog).
    sweep() {
      const t = now();
      for (const [ws, s] of states) {
        if (s.phase === "waiting" && t - s.openedAt >= RESUME_WAIT_MS) ws.close(1008, "no resume frame");
        if (s.stalledSince !== undefined && t - s.stalledSince >= STALL_MS)
          ws.close(CLOSE.slowConsumer.code, CLOSE.slowConsumer.reason);
      }
    },
  };
}

export const roomFrame = (room: Room) => ({ type: "room", room_id: room.id, seq: room.seq, room: roomJson(room) });
