// A broker shared by several instances over a transport (Redis pub/sub or PostgreSQL LISTEN/NOTIFY).
// Each delivery goes to this instance's handler first, then to the transport; what comes back from
// the transport with another origin goes to the handler (messages through the per-room sequencer).
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import type { Broker, BrokerEventHandler, Transport } from "./broker.ts";
import { createSharedPresence } from "./presence.ts";
import { Sequencer } from "./sequencer.ts";
import { decode, type Wire } from "./wire.ts";

// ttlMs: an instance refreshes its users' presence entries three times per ttl; a crashed one's expire.
export function createSharedBroker(transport: Transport, store: Store, log: Logger, ttlMs: number): Broker {
  const origin = crypto.randomUUID();
  const presence = createSharedPresence(transport, origin, ttlMs, log);
  let handler: BrokerEventHandler;
  let seq: Sequencer;
  let down = false;
  let closed = false;

  function send(payload: string) {
    if (closed) return;
    transport.publish(payload).then(
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
  const publish = (w: Wire) => send(JSON.stringify(w));

  function receive(payload: string) {
    const w = decode(payload);
    if (!w || w.origin === origin) return; // our own publication, already delivered here
    if (w.kind === "message") seq.push(w.room, w.id, w.prev, w.message);
    else if (w.kind === "event") handler.event(w.room, w.event, w.body);
    else if (w.kind === "presence") handler.presenceChanged(w.room);
    else if (w.kind === "kick") handler.kick(w.kick);
  }

  return {
    async start(h) {
      handler = h;
      seq = new Sequencer(store, handler, log);
      await transport.subscribe(receive, () => seq.catchUp());
      presence.start(handler);
    },
    message(m, prev) {
      seq.push(m.roomId, m.id, prev, m);
      const payload = JSON.stringify({
        origin,
        kind: "message",
        room: m.roomId,
        id: m.id,
        prev,
        message: m,
      } satisfies Wire);
      if (Buffer.byteLength(payload) <= transport.maxPayload) send(payload);
      else publish({ origin, kind: "message", room: m.roomId, id: m.id, prev });
    },
    event(room, kind, body, except) {
      handler.event(room, kind, body, except);
      publish({ origin, kind: "event", room, event: kind, body });
    },
    kick(k) {
      handler.kick(k);
      publish({ origin, kind: "kick", kick: k });
    },
    presence(room, user, online) {
      presence.update(room, user, online, () => publish({ origin, kind: "presence", room }));
      handler.presenceChanged(room); // reads the shared set after the write above
    },
    watch: (room) => seq.watch(room),
    position: (room) => seq.position(room),
    online: (room, here) => presence.online(room, here),
    async close() {
      closed = true;
      seq?.stop();
      await presence.close(handler?.onlinePairs() ?? []);
      await transport.close();
    },
  };
}
