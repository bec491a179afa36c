// The shared broker's presence: who is online on which instance, in the transport's per-room sets
// (keys `user@instance`, each with an expiry that a heartbeat renews, so a crashed instance's users go).
import type { Logger } from "../log.ts";
import type { BrokerEventHandler, Transport } from "./broker.ts";

export function createSharedPresence(transport: Transport, origin: string, ttlMs: number, log: Logger) {
  let closed = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const own = ownEntries(transport, origin, ttlMs, log);
  const others = otherInstances(transport, origin, log, () => closed);

  return {
    start(handler: BrokerEventHandler) {
      // Renews this instance's entries, and notices the other instances' users that expired.
      heartbeat = setInterval(() => {
        own.renew(handler.onlinePairs());
        void others.spotChanges(handler);
      }, ttlMs / 3);
      heartbeat.unref();
    },
    // Records the change; `written` runs once this room's writes so far are done.
    update(room: number, user: number, online: boolean, written: () => void) {
      if (closed) return;
      if (online) own.set(room, user);
      else own.remove(room, user);
      void (own.pending(room) ?? Promise.resolve()).then(written);
    },
    async online(room: number, here: () => number[]) {
      await own.pending(room);
      const elsewhere = await others.read(room);
      return others.merge(room, here(), elsewhere);
    },
    // Removes this instance's entries, so that the others see its users go at once.
    async close(pairs: Array<[room: number, user: number]>) {
      clearInterval(heartbeat);
      closed = true;
      await own.removeAll(pairs);
    },
  };
}

// This instance's entries. Writes to one room run in order, so that a reader (and the announcement
// of a change) can wait for the ones made so far.
function ownEntries(transport: Transport, origin: string, ttlMs: number, log: Logger) {
  const pending = new Map<number, Promise<unknown>>(); // room -> presence writes in flight
  const memberKey = (user: number) => `${user}@${origin}`;
  function track(room: number, p: Promise<unknown>) {
    const next = (pending.get(room) ?? Promise.resolve())
      .then(() => p)
      .catch((e) => {
        log.warn(`${transport.name} presence update failed`, { room, error: String(e) });
      });
    pending.set(room, next);
    void next.then(() => pending.get(room) === next && pending.delete(room));
  }

  return {
    pending: (room: number) => pending.get(room),
    set: (room: number, user: number) => track(room, transport.presence.set(room, memberKey(user), Date.now() + ttlMs)),
    remove: (room: number, user: number) => track(room, transport.presence.remove(room, memberKey(user))),
    renew(pairs: Iterable<[room: number, user: number]>) {
      const expiresAt = Date.now() + ttlMs;
      for (const [room, user] of pairs) track(room, transport.presence.set(room, memberKey(user), expiresAt));
    },
    async removeAll(pairs: Array<[room: number, user: number]>) {
      await Promise.all(pending.values());
      await Promise.all(pairs.map(([room, user]) => transport.presence.remove(room, memberKey(user)).catch(() => {})));
    },
  };
}

// The other instances' users. A crashed instance's users expire without anyone announcing it, so the
// heartbeat compares them with what was last read (this instance's own changes announce themselves).
function otherInstances(transport: Transport, origin: string, log: Logger, closed: () => boolean) {
  const lastRemote = new Map<number, string>(); // room -> other instances' users when last read
  const ours = (key: string) => key.endsWith(`@${origin}`);
  const remoteUsers = (keys: string[]) =>
    keys
      .filter((k) => !ours(k))
      .sort()
      .join(",");

  return {
    async read(room: number): Promise<string[]> {
      try {
        return await transport.presence.list(room, Date.now());
      } catch (e) {
        if (!closed())
          log.warn(`${transport.name} presence read failed: showing this instance's users only`, { error: String(e) });
        return [];
      }
    },
    // Adds the other instances' users to this instance's (for which `here` is the truth).
    merge(room: number, users: number[], elsewhere: string[]) {
      for (const key of elsewhere) {
        if (ours(key)) continue;
        const user = Number(key.slice(0, key.indexOf("@")));
        if (!users.includes(user)) users.push(user);
      }
      lastRemote.set(room, remoteUsers(elsewhere));
      return users;
    },
    async spotChanges(handler: BrokerEventHandler) {
      for (const [room, before] of lastRemote) {
        if (!handler.interested(room)) {
          lastRemote.delete(room);
          continue;
        }
        const now = await transport.presence.list(room, Date.now()).then(remoteUsers, () => before);
        if (now !== before) handler.presenceChanged(room);
      }
    },
  };
}
