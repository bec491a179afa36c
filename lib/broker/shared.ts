// A broker shared by several instances over a transport (Redis pub/sub or PostgreSQL LISTEN/NOTIFY).
// Each delivery goes to this instance's handler first, then to the transport; what comes back from
// the transport with another origin goes to the handler (messages through the per-room sequencer).
import type { Logger } from "../log.ts";
import type { Message, RoomEvent, Store } from "../store/store.ts";
import type { Broker, BrokerEventHandler, Transport } from "./broker.ts";
import { createSharedPresence } from "./presence.ts";
import { Sequencer } from "./sequencer.ts";
import { decode, type Wire } from "./wire.ts";

// ttlMs: an instance refreshes its users' presence entries three times per ttl; a crashed one's expire.
export function createSharedBroker(transport: Transport, store: Store, log: Logger, ttlMs: number): Broker {
  const origin = crypto.randomUUID();
  const presence = createSharedPresence(transport, origin, ttlMs, log);
  const out = createPublisher(transport, log);
  const publish = (w: Wire) => out.send(JSON.stringify(w));
  let handler: BrokerEventHandler;
  let seq: Sequencer;

  return {
    async start(h) {
      handler = h;
      seq = new Sequencer(store, handler, log);
      await transport.subscribe(
        (payload) => receive(payload, origin, handler, seq),
        () => seq.catchUp(),
      );
      presence.start(handler);
    },
    message(m) {
      seq.push(m.roomId, m.seq, { kind: "message", message: m });
      out.send(encodeMessage(origin, m, transport.maxPayload));
    },
    roomEvent(e) {
      seq.push(e.roomId, e.seq, e);
      out.send(encodeRoomEvent(origin, e, transport.maxPayload));
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
    describe: () =>
      `${transport.name}, ${transport.connected() ? "connected" : "not connected yet (serving this instance only, retrying)"}`,
    async close() {
      out.close();
      seq?.stop();
      await presence.close(handler?.onlinePairs() ?? []);
      await transport.close();
    },
  };
}

// Publishing never waits or throws: while the transport is away, local sockets still get everything
// and other instances fill their gaps from the store later. Logs once when it goes and once when back.
function createPublisher(transport: Transport, log: Logger) {
  let down = false;
  let closed = false;
  return {
    send(payload: string) {
      if (closed) return;
      transport.publish(payload).then(
        () => {
          if (down) log.info(`${transport.name} is back: fan-out to other instances resumed`);
          down = false;
        },
        (e) => {
          if (!down)
            log.error(`${transport.name} publish failed: other instances miss live messages until it is back`, {
              error: String(e),
            });
          down = true;
        },
      );
    },
    close() {
      closed = true;
    },
  };
}

// A message too large for the transport travels without its body; the receivers read it from the store.
function encodeMessage(origin: string, m: Message, maxPayload: number): string {
  const payload = JSON.stringify({ origin, kind: "message", room: m.roomId, seq: m.seq, message: m } satisfies Wire);
  if (Buffer.byteLength(payload) <= maxPayload) return payload;
  return JSON.stringify({ origin, kind: "message", room: m.roomId, seq: m.seq } satisfies Wire);
}

// Likewise an event (an edit carries its message's text; a members change its users).
function encodeRoomEvent(origin: string, e: RoomEvent, maxPayload: number): string {
  const payload = JSON.stringify({
    origin,
    kind: "roomEvent",
    room: e.roomId,
    seq: e.seq,
    roomEvent: e,
  } satisfies Wire);
  if (Buffer.byteLength(payload) <= maxPayload) return payload;
  return JSON.stringify({ origin, kind: "roomEvent", room: e.roomId, seq: e.seq, eventKind: e.kind } satisfies Wire);
}

function receive(payload: string, origin: string, handler: BrokerEventHandler, seq: Sequencer) {
  const w = decode(payload);
  if (!w || w.origin === origin) return; // our own publication, already delivered here
  if (w.kind === "message") seq.push(w.room, w.seq, w.message && { kind: "message", message: w.message });
  else if (w.kind === "roomEvent") seq.push(w.room, w.seq, w.roomEvent, w.eventKind);
  else if (w.kind === "event") handler.event(w.room, w.event, w.body);
  else if (w.kind === "presence") handler.presenceChanged(w.room);
  else if (w.kind === "kick") handler.kick(w.kick);
}
