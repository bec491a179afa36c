// Presence per user, for the user streams: a user is online while they have any socket (room socket or
// stream) on any instance. The broker's per-room presence is reused as it is, with room 0 (ANYWHERE)
// standing for the whole server: each instance records there its users with any socket (the shared
// broker keeps them in the transport's sets with expiry and heartbeat, and announces changes), and this
// module keeps the last list read and tells each live stream what changed about the users it shares a
// room with. A stream's contacts come from its rooms' member lists (listMemberships at resume), kept up
// to date by the members changes delivered here, in each room's order.
import type { Broker } from "../broker/broker.ts";
import type { Logger } from "../log.ts";
import type { Membership, RoomEvent, RoomFrame } from "../store/store.ts";
import { send, type WS } from "./socket.ts";

export const ANYWHERE = 0;

// A live stream's view: its rooms' members (with the seq they are as of) and, per other user, how many
// rooms it shares with them.
type Watch = { ws: WS; user: number; rooms: Map<number, Membership>; shared: Map<number, number> };

type Deps = { broker: Broker; log: Logger };

export type UserPresence = ReturnType<typeof createUserPresence>;

export function createUserPresence({ broker, log }: Deps) {
  const sockets = new Map<number, number>(); // user -> open sockets here
  const watches = new Map<WS, Watch>();
  const byRoom = new Map<number, Set<Watch>>();
  const watchers = new Map<number, Set<Watch>>(); // user -> live streams here sharing a room with them
  let streamsOpen = 0; // while none, nothing here needs the list
  let online: Set<number> | undefined; // online anywhere, as last read
  let reading: Promise<void> | undefined;
  let again = false;

  const tell = (w: Watch, user: number, on: boolean) => send(w.ws, { type: "presence", user_id: user, online: on });

  // The list from the broker, one read at a time (a change during a read reads once more); each
  // user whose state changed is told to the streams that share a room with them.
  function refresh(): Promise<void> {
    if (reading) {
      again = true;
      return reading;
    }
    const apply = (list: number[]) => {
      const now = new Set(list);
      if (streamsOpen === 0) return void (online = undefined);
      const before = online ?? new Set<number>();
      online = now;
      for (const u of now) if (!before.has(u)) for (const w of watchers.get(u) ?? []) tell(w, u, true);
      for (const u of before) if (!now.has(u)) for (const w of watchers.get(u) ?? []) tell(w, u, false);
    };
    const list = broker.online(ANYWHERE, () => [...sockets.keys()]);
    if (Array.isArray(list)) return Promise.resolve(apply(list));
    reading = list.then(apply).catch((e) => log.warn("user presence failed", { error: String(e) }));
    return reading.finally(() => {
      reading = undefined;
      if (again) (again = false), void refresh();
    });
  }

  function share(w: Watch, user: number, by: 1 | -1) {
    if (user === w.user) return;
    const n = (w.shared.get(user) ?? 0) + by;
    if (n > 0) w.shared.set(user, n);
    else w.shared.delete(user);
    if (by === 1 && n === 1) {
      let set = watchers.get(user);
      if (!set) watchers.set(user, (set = new Set()));
      set.add(w);
      if (online?.has(user)) tell(w, user, true);
    } else if (n === 0) {
      watchers.get(user)?.delete(w);
      if (watchers.get(user)?.size === 0) watchers.delete(user);
      if (online?.has(user)) tell(w, user, false); // no longer shares a room: heard of no more
    }
  }

  // The room's members as of seq (users null: the stream's user is not in it).
  function setRoom(w: Watch, room: number, seq: number, users: number[] | null) {
    const old = w.rooms.get(room)?.users ?? [];
    const now = users ?? [];
    for (const u of now) if (!old.includes(u)) share(w, u, 1);
    for (const u of old) if (!now.includes(u)) share(w, u, -1);
    if (users) {
      w.rooms.set(room, { seq, users });
      let set = byRoom.get(room);
      if (!set) byRoom.set(room, (set = new Set()));
      set.add(w);
    } else {
      w.rooms.delete(room);
      byRoom.get(room)?.delete(w);
      if (byRoom.get(room)?.size === 0) byRoom.delete(room);
    }
  }

  function members(w: Watch, e: RoomEvent & { kind: "members" }) {
    const known = w.rooms.get(e.roomId);
    if (known && e.seq <= known.seq) return;
    const mine = e.users.some((u) => u.id === w.user);
    if (!known && !mine) return; // a room the stream is not in
    setRoom(w, e.roomId, e.seq, mine ? e.users.map((u) => u.id) : null);
  }

  return {
    // Any socket of the user opened or closed here: the first and the last are news everywhere.
    opened(user: number, stream: boolean) {
      if (stream) streamsOpen++;
      const n = sockets.get(user) ?? 0;
      sockets.set(user, n + 1);
      if (n === 0) broker.presence(ANYWHERE, user, true);
    },
    closed(user: number, stream: boolean) {
      if (stream && --streamsOpen === 0) online = undefined;
      const n = sockets.get(user) ?? 1;
      if (n > 1) return void sockets.set(user, n - 1);
      sockets.delete(user);
      broker.presence(ANYWHERE, user, false);
    },
    // Called by the broker's handler: someone came or went somewhere.
    changed: () => (streamsOpen > 0 ? void refresh() : undefined),
    interested: () => streamsOpen > 0,
    pairs: (): Array<[number, number]> => [...sockets.keys()].map((u) => [ANYWHERE, u]),
    here: (): number[] => [...sockets.keys()],
    // Before a stream goes live: the list is known (read once while no stream needed it).
    ready: (): Promise<void> => (online ? (reading ?? Promise.resolve()) : refresh()),
    // The stream goes live (in the turn it says synced): its rooms as read at resume, brought up to date
    // with the members changes delivered since; then one presence frame per online user it shares a
    // room with.
    start(ws: WS, rooms: Map<number, Membership>, since: RoomFrame[]) {
      const w: Watch = { ws, user: ws.data.userId, rooms: new Map(), shared: new Map() };
      watches.set(ws, w);
      const saved = online;
      online = undefined; // told below, once
      for (const [room, m] of rooms) setRoom(w, room, m.seq, m.users);
      for (const f of since) if (f.kind === "members") members(w, f);
      online = saved;
      for (const u of w.shared.keys()) if (online?.has(u)) tell(w, u, true);
    },
    stop(ws: WS) {
      const w = watches.get(ws);
      if (!w) return;
      watches.delete(ws);
      for (const room of [...w.rooms.keys()]) {
        byRoom.get(room)?.delete(w);
        if (byRoom.get(room)?.size === 0) byRoom.delete(room);
      }
      for (const u of w.shared.keys()) {
        watchers.get(u)?.delete(w);
        if (watchers.get(u)?.size === 0) watchers.delete(u);
      }
    },
    // A members change delivered here: the live streams in the room, and those of the users it adds.
    members(e: RoomEvent & { kind: "members" }) {
      const concerned = new Set(byRoom.get(e.roomId));
      for (const w of watches.values()) if (e.added.includes(w.user)) concerned.add(w);
      for (const w of concerned) members(w, e);
    },
  };
}
