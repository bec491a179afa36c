// Resume (?after=): the backlog from the store, then the live messages that came meanwhile, with no
// gap and nothing twice; a backlog longer than BACKLOG_CAP is replaced by a "resync" frame.
import type { Broker } from "../broker/broker.ts";
import { messageJson } from "../http/shapes.ts";
import type { Message, Store } from "../store/store.ts";
import type { RoomState } from "./room-state.ts";
import { send, type WS } from "./socket.ts";

const BACKLOG_CAP = 1000;

type Deps = {
  store: Store;
  broker: Broker;
  rooms: RoomState;
  onDeliver: (frames: number) => void;
  goLive: (ws: WS) => void;
};

export async function resume({ store, broker, rooms, onDeliver, goLive }: Deps, ws: WS, after: number) {
  const room = ws.data.roomId;
  // Several instances: the backlog stops where this instance's delivery stands; everything after
  // that reaches the joining buffer in order, so nothing comes twice and nothing is skipped.
  const upto = broker.position(room) ?? Infinity;
  const backlog = (await store.listMessages(room, { after, limit: BACKLOG_CAP + 1 })).filter((m) => m.id <= upto);
  if (ws.readyState !== 1) return;
  const typed = ws.data.events.size > 0;
  const frame = (m: Message) => JSON.stringify(typed ? { type: "message", ...messageJson(m) } : messageJson(m));
  let last = after;
  if (backlog.length > BACKLOG_CAP) {
    send(ws, { type: "resync", room_id: room });
  } else {
    for (const m of backlog) ws.send(frame(m));
    onDeliver(backlog.length);
    last = backlog.at(-1)?.id ?? after;
  }
  // Messages published while we read: skip what the backlog already held.
  for (const m of rooms.finishJoining(room, ws) ?? []) {
    if (m.id <= last) continue;
    ws.send(frame(m));
    onDeliver(1);
  }
  goLive(ws);
}
