// Delivery to this instance's sockets, the side of the hub that the broker calls: topic names,
// messages (in id order per room), events, and presence lists that may span several instances.
import type { Server } from "bun";
import type { Broker, Local } from "../broker/broker.ts";
import { type Event, topic } from "./topics.ts";
import type { Logger } from "../log.ts";
import { messageJson } from "../http/shapes.ts";
import type { Message } from "../store/store.ts";

type Deps = {
  broker: Broker;
  log: Logger;
  server: () => Server<any> | undefined; // undefined until Bun.serve has started
  onDeliver: (frames: number) => void; // message frames handed to sockets, for /metrics
  joining: Map<number, Set<{ data: { joining: Message[] | null } }>>; // room -> sockets reading their backlog
  online: Map<number, Map<number, number>>; // room -> user -> open sockets
};

export function createDelivery({ broker, log, server, onDeliver, joining, online }: Deps) {
  // One stringify per message; the typed frame is the same JSON with "type" in front, built only
  // when some socket in the room asked for events.
  function deliverMessage(m: Message) {
    const s = server();
    const waiting = joining.get(m.roomId);
    if (waiting) for (const ws of waiting) ws.data.joining!.push(m);
    if (!s) return;
    const plain = JSON.stringify(messageJson(m));
    const plainTopic = topic.plain(m.roomId);
    const typed = topic.typed(m.roomId);
    const typedCount = s.subscriberCount(typed);
    onDeliver(s.subscriberCount(plainTopic) + typedCount);
    s.publish(plainTopic, plain, false);
    if (typedCount > 0) s.publish(typed, `{"type":"message",${plain.slice(1)}`, false);
  }

  function publishEvent(room: number, e: Event, body: object) {
    server()?.publish(topic.event(room, e), JSON.stringify({ type: e, room_id: room, ...body }), false);
  }

  function onlineList(room: number) {
    return [...(online.get(room)?.keys() ?? [])];
  }

  // The room's online list (from every instance) to `only`, or to the room's presence topic. With
  // several instances the list is read from the broker: one read per room at a time, this instance's
  // users taken when the read returns, and a list equal to the last one sent is not sent again.
  const announcing = new Map<number, Promise<void>>();
  const lastSent = new Map<number, string>();
  function announcePresence(room: number, only?: (list: number[]) => void) {
    const out =
      only ??
      ((list: number[]) => {
        if (lastSent.get(room) === list.join(",")) return;
        if (list.length) lastSent.set(room, list.join(","));
        else lastSent.delete(room);
        publishEvent(room, "presence", { online: list });
      });
    const announce = (): void | Promise<void> => {
      const list = broker.online(room, () => onlineList(room));
      return Array.isArray(list) ? out(list) : list.then(out);
    };
    const before = announcing.get(room);
    const done = before ? before.then(announce) : announce();
    if (!done) return; // one instance: sent already
    const tail = done.catch((e) => log.warn("presence failed", { room, error: String(e) }));
    announcing.set(room, tail);
    void tail.then(() => announcing.get(room) === tail && announcing.delete(room));
  }

  const local: Omit<Local, "kick"> = {
    message: deliverMessage,
    event: publishEvent,
    presenceChanged: (room) => announcePresence(room),
    interested: (room) => online.has(room) || (joining.get(room)?.size ?? 0) > 0,
    onlinePairs: () =>
      [...online].flatMap(([room, users]) => [...users.keys()].map((u): [number, number] => [room, u])),
  };

  return { publishEvent, onlineList, announcePresence, local };
}
