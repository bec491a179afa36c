// Delivery to this instance's sockets, the side of the hub that the broker calls: topic names,
// messages (in id order per room), events, and presence lists that may span several instances.
import type { Broker, Local } from "./broker.ts";
import type { Event } from "./hub.ts";
import type { Logger } from "./log.ts";
import { type Message, messageJson } from "./store.ts";

// The hub owns topic names. Plain messages go to one topic, typed ones (for clients that opted in
// to events) to another, and each event kind has its own, so a socket gets exactly what it asked for.
export const topic = {
  plain: (room: number) => `r${room}`,
  typed: (room: number) => `r${room}:m`,
  event: (room: number, e: Event) => `r${room}:${e}`,
};

type Deps = {
  broker: Broker;
  log: Logger;
  publish: (topic: string, data: string) => void;
  onDeliver: (m: Message) => void; // counts frames for /metrics, before they go out
  joining: Map<number, Set<{ data: { joining: Message[] | null } }>>; // room -> sockets reading their backlog
  online: Map<number, Map<number, number>>; // room -> user -> open sockets
};

export function createDelivery({ broker, log, publish, onDeliver, joining, online }: Deps) {
  function deliverMessage(m: Message) {
    const body = messageJson(m);
    for (const ws of joining.get(m.room_id) ?? []) ws.data.joining!.push(m);
    onDeliver(m);
    publish(topic.plain(m.room_id), JSON.stringify(body));
    publish(topic.typed(m.room_id), JSON.stringify({ type: "message", ...body }));
  }

  function publishEvent(room: number, e: Event, body: object) {
    publish(topic.event(room, e), JSON.stringify({ type: e, room_id: room, ...body }));
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
    const out = only ?? ((list: number[]) => {
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

  const local: Local = {
    message: deliverMessage,
    event: publishEvent,
    presenceChanged: (room) => announcePresence(room),
    interested: (room) => online.has(room) || (joining.get(room)?.size ?? 0) > 0,
    onlinePairs: () => [...online].flatMap(([room, users]) => [...users.keys()].map((u): [number, number] => [room, u])),
  };

  return { publishEvent, onlineList, announcePresence, local };
}
