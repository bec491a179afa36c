// A user stream's resume: before anything live, per room of the client's map that the user still
// belongs to, every durable frame after the client's seq, in order, exactly once (or "resync" with the
// room's seq when more than RESYNC_AFTER are missing); "room" for each room the user joined while away;
// "room_removed" for each room of the map the user left; then "synced". Live frames that arrive
// meanwhile are buffered by stream.ts and sent after, skipping the seqs already sent.
import type { Broker } from "../broker/broker.ts";
import { messageJson, roomEventJson } from "../http/shapes.ts";
import { frameSeq, type Membership, type RoomFrame, type Store } from "../store/store.ts";
import { send, type WS } from "./socket.ts";
import { roomFrame, type StreamState, type Streams } from "./stream.ts";
import type { UserPresence } from "./user-presence.ts";

export const RESYNC_AFTER = 1000;

type Deps = { store: Store; broker: Broker; streams: () => Streams; userPresence: UserPresence };

export function frameJson(f: RoomFrame): string {
  return JSON.stringify(f.kind === "message" ? { type: "message", ...messageJson(f.message) } : roomEventJson(f));
}

// Reads a few rooms ahead (a networked store answers them at once) while the stream is sent in order.
const READ_AHEAD = 16;
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

export function createStreamSync({ store, broker, streams, userPresence }: Deps) {
  // The frames of one room after `after`, or null when more than RESYNC_AFTER are missing. A gap the
  // room's seq shows to be far past it is not read (Store.listFrames walks the missed rows).
  async function missed(room: number, after: number, newest: number): Promise<RoomFrame[] | null> {
    if (newest - after > 2 * RESYNC_AFTER) return null;
    const upto = broker.position(room) ?? Infinity;
    const frames = (await store.listFrames(room, after, RESYNC_AFTER + 1)).filter((f) => frameSeq(f) <= upto);
    return frames.length > RESYNC_AFTER ? null : frames;
  }

  async function replay(ws: WS, s: StreamState, map: Map<number, number>, mine: Map<number, Membership>) {
    const st = streams();
    const reads = ahead(
      [...map].filter(([room]) => mine.has(room)),
      ([room, after]) => missed(room, after, mine.get(room)!.seq),
    );
    for (const [room, after] of map) {
      if (!mine.has(room)) {
        send(ws, { type: "room_removed", room_id: room });
        continue;
      }
      const frames = await reads.next();
      if (ws.readyState !== 1) return;
      if (frames === null) {
        send(ws, { type: "resync", room_id: room, seq: mine.get(room)!.seq });
        s.rooms.set(room, mine.get(room)!.seq);
        continue;
      }
      if (!(await sendFrames(ws, s, room, frames))) return;
    }
    for (const room of mine.keys()) {
      if (map.has(room)) continue;
      const found = await store.findRoomForMember(room, ws.data.userId);
      if (ws.readyState !== 1) return;
      if (!found) {
        st.dropRoom(ws, s, room); // left meanwhile
        continue;
      }
      send(ws, roomFrame(found));
      s.rooms.set(room, found.seq);
    }
  }

  // One room's missed frames. A removal of the user stored after listMemberships read the room is among
  // them: it ends the room's replay with room_removed (a later re-add is in the buffer). false: closed.
  async function sendFrames(ws: WS, s: StreamState, room: number, frames: RoomFrame[]) {
    const st = streams();
    for (const f of frames) {
      ws.send(frameJson(f));
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
      ws.send(frameJson(f));
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
    await replay(ws, s, map, mine);
    if (ws.readyState !== 1) return;
    flush(ws, s);
    send(ws, { type: "synced" });
    userPresence.start(ws, mine, s.buffer); // presence frames, after synced
    st.goLive(ws, s);
  };
}
