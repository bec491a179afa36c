// A user stream's resume: before anything live, per room of the client's map that the user still
// belongs to, every durable frame after the client's seq, in order, exactly once (or "resync" with the
// room's seq when more than RESYNC_AFTER are missing); "room" for each room the user joined while away;
// "room_removed" for each room of the map the user left; then "synced". Live frames that arrive
// meanwhile are buffered by stream.ts and sent after, skipping the seqs already sent.
import type { Broker } from "../broker/broker.ts";
import { type FileUrl, messageJson, roomEventJson } from "../http/shapes.ts";
import { frameSeq, type Membership, type RoomFrame, type Store } from "../store/store.ts";
import { send, type WS } from "./socket.ts";
import { roomFrame, type StreamState, type Streams } from "./stream.ts";
import type { UserPresence } from "./user-presence.ts";

export const RESYNC_AFTER = 1000;

type Deps = { store: Store; broker: Broker; streams: () => Streams; userPresence: UserPresence; fileUrl: FileUrl };

export function frameJson(f: RoomFrame, fileUrl: FileUrl): string {
  return JSON.stringify(
    f.kind === "message" ? { type: "message", ...messageJson(f.message, fileUrl) } : roomEventJson(f, fileUrl),
  );
}

// The rooms to replay, [room, seq to read after], read a chunk per query (Store.listRoomsFrames): a chunk
// ends at CHUNK_ROOMS rooms or about CHUNK_FRAMES missed frames (the gap each room's seq shows), and a
// few are read ahead (a networked store answers them at once) while the stream is sent in order.
type Gap = [room: number, after: number];
const CHUNK_ROOMS = 100;
const CHUNK_FRAMES = 1000;
const READ_AHEAD = 2;

function chunks(gaps: Gap[], newest: (room: number) => number): Gap[][] {
  const out: Gap[][] = [];
  let chunk: Gap[] = [];
  let frames = 0;
  for (const [room, after] of gaps) {
    const n = Math.min(Math.max(newest(room) - after, 1), RESYNC_AFTER + 1);
    if (chunk.length >= CHUNK_ROOMS || (chunk.length > 0 && frames + n > CHUNK_FRAMES)) {
      out.push(chunk);
      chunk = [];
      frames = 0;
    }
    chunk.push([room, after]);
    frames += n;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

function ahead<T, R>(items: T[], read: (item: T) => Promise<R>) {
  const started: Promise<R>[] = [];
  const start = () => {
    while (started.length < items.length && started.length < taken + READ_AHEAD) {
      const p = read(items[started.length]!);
      p.catch(() => {}); // awaited in order by next(); a failure there ends the resume
      started.push(p);
    }
  };
  let taken = 0;
  start();
  return {
    next(): Promise<R> {
      const p = started[taken++]!;
      start();
      return p;
    },
  };
}

export function createStreamSync({ store, broker, streams, userPresence, fileUrl }: Deps) {
  // Each room's frames after its seq, or null when more than RESYNC_AFTER are missing. A gap the room's
  // seq shows to be far past it is not read (Store.listFrames walks the missed rows). Frames past what
  // the broker delivered when the read starts are left to the buffer.
  async function missed(chunk: Gap[], mine: Map<number, Membership>): Promise<Map<number, RoomFrame[] | null>> {
    const out = new Map<number, RoomFrame[] | null>();
    const read = new Map<number, number>();
    const upto = new Map<number, number>();
    for (const [room, after] of chunk) {
      if (mine.get(room)!.seq - after > 2 * RESYNC_AFTER) {
        out.set(room, null);
        continue;
      }
      read.set(room, after);
      upto.set(room, broker.position(room) ?? Infinity);
    }
    const found =
      read.size === 0 ? new Map<number, RoomFrame[]>() : await store.listRoomsFrames(read, RESYNC_AFTER + 1);
    for (const room of read.keys()) {
      const frames = (found.get(room) ?? []).filter((f) => frameSeq(f) <= upto.get(room)!);
      out.set(room, frames.length > RESYNC_AFTER ? null : frames);
    }
    for (const room of await cut(read, found, mine)) out.set(room, null);
    return out;
  }

  // The rooms whose kept history starts past their seq (retention cut frames the client had not seen, or
  // holds): resync. Only rooms whose replay does not start right after the seq are looked up.
  async function cut(read: Map<number, number>, found: Map<number, RoomFrame[]>, mine: Map<number, Membership>) {
    const unsure = [...read].filter(([room, after]) => {
      const first = found.get(room)?.[0];
      return first ? frameSeq(first) !== after + 1 : mine.get(room)!.seq > after;
    });
    if (unsure.length === 0) return [];
    const starts = await store.historyStarts(unsure.map(([room]) => room));
    return unsure.filter(([room, after]) => after < (starts.get(room)?.seq ?? 0) - 1).map(([room]) => room);
  }

  // The rooms of the map in its order: replayed (or resync), or room_removed when the user left.
  async function replay(ws: WS, s: StreamState, map: Map<number, number>, mine: Map<number, Membership>) {
    const gaps = [...map].filter(([room]) => mine.has(room));
    const reads = ahead(
      chunks(gaps, (room) => mine.get(room)!.seq),
      (chunk) => missed(chunk, mine),
    );
    let chunk = new Map<number, RoomFrame[] | null>();
    for (const [room] of map) {
      if (!mine.has(room)) {
        send(ws, { type: "room_removed", room_id: room });
        continue;
      }
      if (!chunk.has(room)) chunk = await reads.next(); // chunks follow the map's order
      if (ws.readyState !== 1) return false;
      const frames = chunk.get(room)!;
      if (frames === null) {
        send(ws, { type: "resync", room_id: room, seq: mine.get(room)!.seq });
        s.rooms.set(room, mine.get(room)!.seq);
        continue;
      }
      if (!(await sendFrames(ws, s, room, frames))) return false;
    }
    return true;
  }

  // A room for each room the user joined while away (not in the map), read at once.
  async function announce(ws: WS, s: StreamState, map: Map<number, number>, mine: Map<number, Membership>) {
    const st = streams();
    const joined = [...mine.keys()].filter((room) => !map.has(room));
    if (joined.length === 0) return;
    const found = new Map((await store.findRoomsForMember(joined, ws.data.userId)).map((r) => [r.id, r]));
    if (ws.readyState !== 1) return;
    for (const room of joined) {
      const r = found.get(room);
      if (!r) {
        st.dropRoom(ws, s, room); // left meanwhile
        continue;
      }
      send(ws, roomFrame(r));
      s.rooms.set(room, r.seq);
    }
  }

  // One room's missed frames. A removal of the user stored after listMemberships read the room is among
  // them: it ends the room's replay with room_removed (a later re-add is in the buffer). false: closed.
  async function sendFrames(ws: WS, s: StreamState, room: number, frames: RoomFrame[]) {
    const st = streams();
    for (const f of frames) {
      ws.send(frameJson(f, fileUrl));
      s.rooms.set(room, frameSeq(f));
      if (f.kind === "members" && f.removed.includes(ws.data.userId)) {
        st.membership(ws, s, f);
        return ws.readyState === 1;
      }
      const full = st.roomToSend(ws, s);
      if (full) await full;
      if (ws.readyState !== 1) return false;
    }
    return true;
  }

  // The buffer, in delivery order: frames past what each room got, membership changes of this user.
  function flush(ws: WS, s: StreamState) {
    const st = streams();
    for (const f of s.buffer) {
      const room = f.kind === "message" ? f.message.roomId : f.roomId;
      const seq = frameSeq(f);
      if (f.kind === "members" && f.added.includes(ws.data.userId) && !s.rooms.has(room)) {
        send(ws, roomFrame(f.room));
        st.addRoom(ws, s, room, seq);
        continue;
      }
      if (!s.rooms.has(room) || seq <= s.rooms.get(room)!) continue;
      ws.send(frameJson(f, fileUrl));
      s.rooms.set(room, seq);
      if (f.kind === "members") st.membership(ws, s, f);
    }
  }

  return async function sync(ws: WS, s: StreamState, map: Map<number, number>) {
    const st = streams();
    const mine = await store.listMemberships(ws.data.userId);
    if (!st.alive(ws)) return; // closed meanwhile: nothing to mark
    // Interest first (several instances: the sequencer delivers a room's frames here from now on),
    // then where each room stands; what is newer reaches the buffer.
    for (const room of mine.keys()) st.addRoom(ws, s, room, map.get(room) ?? 0);
    await Promise.all([...mine.keys()].map((room) => broker.watch(room)).concat(userPresence.ready()));
    if (await replay(ws, s, map, mine)) await announce(ws, s, map, mine);
    if (ws.readyState !== 1) return;
    flush(ws, s);
    send(ws, { type: "synced" });
    userPresence.start(ws, mine, s.buffer); // presence frames, after synced
    st.goLive(ws, s);
  };
}
