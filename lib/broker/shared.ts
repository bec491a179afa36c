// A broker shared by several instances over a transport (Redis pub/sub or PostgreSQL LISTEN/NOTIFY),
// with a per-room sequencer so sockets see ids in order, no gaps.
import type { Logger } from "../log.ts";
import type { Message, Store } from "../store/store.ts";
import type { Broker, EventKind, Kick, Local, Transport } from "./broker.ts";
import { Sequencer } from "./sequencer.ts";

type Wire =
  | { o: string; t: "m"; r: number; id: number; p: number | null; m?: Message }
  | { o: string; t: "e"; r: number; k: Exclude<EventKind, "presence">; b: object }
  | { o: string; t: "p"; r: number }
  | { o: string; t: "k"; k: Kick };

// ttlMs: an instance refreshes its users' presence entries three times per ttl; a crashed one's expire.
export function createSharedBroker(transport: Transport, store: Store, log: Logger, ttlMs: number): Broker {
  const origin = crypto.randomUUID();
  let local: Local;
  let seq: Sequencer;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let down = false;
  let closed = false;
  const pending = new Map<number, Promise<unknown>>(); // room -> presence writes in flight
  const lastRemote = new Map<number, string>(); // room -> other instances' users when last read, to spot expiries

  function send(w: Wire) {
    if (closed) return;
    transport.publish(JSON.stringify(w)).then(
      () => {
        if (down) log.info(`${transport.name} is back: fan-out to other instances resumed`);
        down = false;
      },
      (e) => {
        // Keep serving: local sockets still get everything, other instances fill gaps from the store later.
        if (!down)
          log.error(`${transport.name} publish failed: other instances miss live messages until it is back`, {
            error: String(e),
          });
        down = true;
      },
    );
  }

  function receive(payload: string) {
    let w: Wire;
    try {
      w = JSON.parse(payload);
    } catch {
      return;
    }
    if (w.o === origin) return; // our own publication, already delivered here
    if (w.t === "m") seq.push(w.r, w.id, w.p, w.m);
    else if (w.t === "e") local.event(w.r, w.k, w.b);
    else if (w.t === "p") local.presenceChanged(w.r);
    else if (w.t === "k") local.kick(w.k);
  }

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

  const broker: Broker = {
    async start(l) {
      local = l;
      seq = new Sequencer(store, local, log);
      await transport.subscribe(receive, () => seq.catchUp());
      heartbeat = setInterval(async () => {
        const expiresAt = Date.now() + ttlMs;
        for (const [room, user] of local.onlinePairs())
          track(room, transport.presence.set(room, memberKey(user), expiresAt));
        // Users of a crashed instance expire without anyone announcing it: look for changes in the
        // other instances' users (this instance's own changes announce themselves).
        for (const [room, before] of lastRemote) {
          if (!local.interested(room)) {
            lastRemote.delete(room);
            continue;
          }
          const now = await transport.presence.list(room, Date.now()).then(remoteUsers, () => before);
          if (now !== before) local.presenceChanged(room);
        }
      }, ttlMs / 3);
      heartbeat.unref();
    },
    message(m, prev) {
      seq.push(m.roomId, m.id, prev ?? null, m);
      const w: Wire = { o: origin, t: "m", r: m.roomId, id: m.id, p: prev ?? null, m };
      const payload = JSON.stringify(w);
      if (Buffer.byteLength(payload) <= transport.maxPayload) send(w);
      else send({ ...w, m: undefined });
    },
    watch: (room) => seq.watch(room),
    position: (room) => seq.position(room),
    kick(k) {
      send({ o: origin, t: "k", k });
    },
    event(room, kind, body) {
      send({ o: origin, t: "e", r: room, k: kind, b: body });
    },
    presence(room, user, online) {
      if (closed) return;
      track(
        room,
        online
          ? transport.presence.set(room, memberKey(user), Date.now() + ttlMs)
          : transport.presence.remove(room, memberKey(user)),
      );
      void (pending.get(room) ?? Promise.resolve()).then(() => send({ o: origin, t: "p", r: room }));
    },
    async online(room, here) {
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
    async close() {
      clearInterval(heartbeat);
      closed = true;
      seq?.stop();
      await Promise.all(pending.values());
      await Promise.all(
        (local?.onlinePairs() ?? []).map(([room, user]) =>
          transport.presence.remove(room, memberKey(user)).catch(() => {}),
        ),
      );
      await transport.close();
    },
  };
  return broker;
}
