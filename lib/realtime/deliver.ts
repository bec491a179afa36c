// Delivery to this instance's sockets, what the broker's handler does with messages and events:
// one server.publish per topic, with the topic names of topics.ts.
import type { Server } from "bun";
import type { EventBody } from "../broker/broker.ts";
import { messageJson } from "../http/shapes.ts";
import type { Message } from "../store/store.ts";
import type { RoomState } from "./room-state.ts";
import type { WS } from "./socket.ts";
import { type Event, topic } from "./topics.ts";

type Deps = {
  rooms: RoomState;
  server: () => Server<any> | undefined; // undefined until Bun.serve has started
  onDeliver: (frames: number) => void; // message frames handed to sockets, for /metrics
};

export function createDelivery({ rooms, server, onDeliver }: Deps) {
  // One stringify per message; the typed frame is the same JSON with "type" in front, built only
  // when some socket in the room asked for events. Sockets reading their backlog get it buffered.
  function message(m: Message) {
    rooms.buffer(m);
    const s = server();
    if (!s) return;
    const plain = JSON.stringify(messageJson(m));
    const plainTopic = topic.plain(m.roomId);
    const typed = topic.typed(m.roomId);
    const typedCount = s.subscriberCount(typed);
    onDeliver(s.subscriberCount(plainTopic) + typedCount);
    s.publish(plainTopic, plain, false);
    if (typedCount > 0) s.publish(typed, `{"type":"message",${plain.slice(1)}`, false);
  }

  // except: the socket the event came from (the broker hands back what the hub gave it): its own
  // publish skips it, so a typing client does not hear itself.
  function event(room: number, kind: Event, body: EventBody | { online: number[] }, except?: object) {
    const json = JSON.stringify({ type: kind, room_id: room, ...body });
    if (except) (except as WS).publish(topic.event(room, kind), json);
    else server()?.publish(topic.event(room, kind), json, false);
  }

  return { message, event };
}
