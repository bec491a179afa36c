// The shared broker's presence: who is online on which instance, in the transport's per-room sets
// (keys `user@instance`, each with an expiry that a heartbeat renews, so a crashed instance's users go).
import type { Logger } from "../log.ts";
import type { BrokerEventHandler, Transport } from "./broker.ts";

export function createSharedPresence(transport: Transport, origin: string, ttlMs: number, log: Logger) {
  const pending = new Map<number, Promise<unknown>>(); // room -> presence writes in flight
  const lastRemote = new Map<number, string>(); // room -> other instances' users when last read, to spot expiries
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const memberKey = (user: number) => `${user}@${origin}`;
  const remoteUsers = (keys: string[]) =>
    keys
      .filter((k) => !k.endsWith(`@${origin}`))
      .sort()
      .join(",");
  function track(room: number, p: Promise<unknown>) {
    const next = (pending.get(room) ?? Promise.resolve())
      .then(() => p)
      .catch((e) => {
        log.warn(`${transport.name} presence update failed`, { room, error: String(e) });
      });
    pending.set(room, next);
    void next.then(() => pending.get(room) === next && pending.delete(room));
  }

  // Renews this instance's entries; users of a crashed instance expire without anyone announcing it,
  // so look for changes in the other instances' users (this instance's own changes announce themselves).
  async function beat(handler: BrokerEventHandler) {
    const expiresAt = Date.now() + ttlMs;
    for (const [room, user] of handler.onlinePairs())
      track(room, transport.presence.set(room, memberKey(user), expiresAt));
    for (const [room, before] of lastRemote) {
      if (!handler.interested(room)) {
        lastRemote.delete(room);
        continue;
      }
      const now = await transport.presence.list(room, Date.now()).then(remoteUsers, () => before);
      if (now !== before) handler.presenceChanged(room);
    }
  }

  return {
    start(handler: BrokerEventHandler) {
      heartbeat = setInterval(() => void beat(handler), ttlMs / 3);
      heartbeat.unref();
    },
    // Records the change; `written` runs once this room's writes so far are done.
    update(room: number, user: number, online: boolean, written: () => void) {
      if (closed) return;
      track(
        room,
        online
          ? transport.presence.set(room, memberKey(user), Date.now() + ttlMs)
          : transport.presence.remove(room, memberKey(user)),
      );
      void (pending.get(room) ?? Promise.resolve()).then(written);
    },
    async online(room: number, here: () => number[]) {
      await pending.get(room);
      let elsewhere: string[] = [];
      try {
        elsewhere = await transport.presence.list(room, Date.now());
      } catch (e) {
        if (!closed)
          log.warn(`${transport.name} presence read failed: showing this instance's users only`, { error: String(e) });
      }
      const users = here();
      for (const key of elsewhere) {
        if (key.endsWith(`@${origin}`)) continue; // this instance's users: here() is the truth
        const user = Number(key.slice(0, key.indexOf("@")));
        if (!users.includes(user)) users.push(user);
      }
      lastRemote.set(room, remoteUsers(elsewhere));
      return users;
    },
    // Removes this instance's entries, so that the others see its users go at once.
    async close(pairs: Array<[room: number, user: number]>) {
      clearInterval(heartbeat);
      closed = true;
      await Promise.all(pending.values());
      await Promise.all(pairs.map(([room, user]) => transport.presence.remove(room, memberKey(user)).catch(() => {})));
    },
  };
}
