// Presence: who is online in a room (on every instance), announced to the sockets that opted in.
import type { Broker } from "../broker/broker.ts";
import type { Logger } from "../log.ts";
import type { RoomState } from "./room-state.ts";
import { send, type WS } from "./socket.ts";

type Deps = {
  broker: Broker;
  rooms: RoomState;
  log: Logger;
  publish: (room: number, kind: "presence", body: { online: number[] }) => void;
};

export type Presence = ReturnType<typeof createPresence>;

export function createPresence({ broker, rooms, log, publish }: Deps) {
  // The room's online list (from every instance) to `only`, or to the room's presence topic. With
  // several instances the list is read from the broker: one read per room at a time, this instance's
  // users taken when the read returns, and a list equal to the last one sent is not sent again.
  const announcing = new Map<number, Promise<void>>();
  const lastSent = new Map<number, string>();
  function announce(room: number, only?: (list: number[]) => void) {
    const out =
      only ??
      ((list: number[]) => {
        if (lastSent.get(room) === list.join(",")) return;
        if (list.length) lastSent.set(room, list.join(","));
        else lastSent.delete(room);
        publish(room, "presence", { online: list });
      });
    // Sorted by user id on every instance, whatever order the broker's sets come back in.
    const sorted = (list: number[]) => out([...list].sort((a, b) => a - b));
    const read = (): void | Promise<void> => {
      const list = broker.online(room, () => rooms.users(room));
      return Array.isArray(list) ? sorted(list) : list.then(sorted);
    };
    const before = announcing.get(room);
    const done = before ? before.then(read) : read();
    if (!done) return; // one instance: sent already
    const tail = done.catch((e) => log.warn("presence failed", { room, error: String(e) }));
    announcing.set(room, tail);
    void tail.then(() => announcing.get(room) === tail && announcing.delete(room));
  }

  return {
    announce,
    // A socket went live: the user's first here is news for everyone (the broker comes back to
    // announce); otherwise a socket that opted in still gets the current list.
    arrive(ws: WS) {
      const { roomId: room, userId, events } = ws.data;
      if (rooms.arrive(room, userId)) broker.presence(room, userId, true);
      else if (events.has("presence"))
        announce(room, (online) => send(ws, { type: "presence", room_id: room, online }));
    },
    leave(room: number, user: number) {
      if (rooms.leave(room, user)) broker.presence(room, user, false);
    },
  };
}
