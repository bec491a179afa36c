// Delivery to this instance's sockets, what the broker's handler does with messages and events:
// one server.publish per topic, with the topic names of topics.ts.
import type { Server } from "bun";
import type { EventBody } from "../broker/broker.ts";
import { type FileUrl, messageJson, roomEventJson } from "../http/shapes.ts";
import type { Message, RoomEvent, RoomFrame } from "../store/store.ts";
import type { RoomState } from "./room-state.ts";
import type { WS } from "./socket.ts";
import { type Event, optInOf, topic } from "./topics.ts";

// streams: user streams (stream.ts) hear of every durable frame; a message only while one is syncing.
// read: streams get read markers one by one (their own with the room's unread), not through the topic.
// settings: a user's settings in a room, to that user's streams only.
type StreamHook = {
  syncing(): boolean;
  frame(f: RoomFrame): void;
  read(room: number, body: EventBody): void;
  settings(room: number, body: EventBody): void;
};
type Deps = {
  rooms: RoomState;
  streams: () => StreamHook;
  server: () => Server<any> | undefined; // undefined until Bun.serve has started
  onDeliver: (frames: number) => void; // message frames handed to sockets, for /metrics
  fileUrl: FileUrl; // signs a message's files once per delivery, for every recipient
};

export function createDelivery({ rooms, server, onDeliver, streams, fileUrl }: Deps) {
  // A room's two message topics and their subscriber counts, read once and kept until a socket of the
  // room subscribes or closes (subscriptionsChanged): two native subscriberCount calls and two topic
  // names per message were about 6% of the main thread in fan-out. Rooms nobody listens to are not kept.
  type Topics = { plain: string; typed: string; plainCount: number; typedCount: number };
  const topics = new Map<number, Topics>();
  function roomTopics(s: Server<any>, room: number): Topics {
    let t = topics.get(room);
    if (t) return t;
    const plain = topic.plain(room);
    const typed = topic.typed(room);
    t = { plain, typed, plainCount: s.subscriberCount(plain), typedCount: s.subscriberCount(typed) };
    if (t.plainCount + t.typedCount > 0) topics.set(room, t);
    return t;
  }

  // One stringify per message; the typed frame is the same JSON with "type" in front, built only
  // when some socket in the room asked for events. Sockets reading their backlog get it buffered.
  function message(m: Message) {
    rooms.bufferMessage(m);
    const s = server();
    if (!s) return;
    const plain = JSON.stringify(messageJson(m, fileUrl));
    const t = roomTopics(s, m.roomId);
    onDeliver(t.plainCount + t.typedCount);
    s.publish(t.plain, plain, false);
    if (t.typedCount > 0) s.publish(t.typed, `{"type":"message",${plain.slice(1)}`, false);
    if (streams().syncing()) streams().frame({ kind: "message", message: m });
  }

  // except: the socket the event came from (the broker hands back what the hub gave it): its own
  // publish skips it, so a typing client does not hear itself.
  function event(room: number, kind: Event | "settings", body: EventBody | { online: number[] }, except?: object) {
    if (kind === "settings") return streams().settings(room, body as EventBody);
    if (kind === "read") {
      const { unread: _, mentions: __, ...receipt } = body as EventBody;
      streams().read(room, body as EventBody);
      body = receipt;
    }
    const json = JSON.stringify({ type: kind, room_id: room, ...body });
    if (except) (except as WS).publish(topic.event(room, kind), json);
    else server()?.publish(topic.event(room, kind), json, false);
  }

  // A membership or room change: to the sockets that opted in to "members"; a message's change to those
  // that opted in to "changes" (and the user streams, subscribed to both). Buffered for those reading
  // their backlog.
  function roomEvent(e: RoomEvent) {
    rooms.buffer(e);
    server()?.publish(topic.event(e.roomId, optInOf(e)), JSON.stringify(roomEventJson(e, fileUrl)), false);
    streams().frame(e);
  }

  // The hub calls this after a socket of the room subscribed to its topics, and when one closed.
  const subscriptionsChanged = (room: number) => void topics.delete(room);

  return { message, roomEvent, event, subscriptionsChanged };
}

export type Delivery = ReturnType<typeof createDelivery>;
