// One instance: every delivery loops straight back to the handler, synchronously; nothing to order.
import type { Broker, BrokerEventHandler } from "./broker.ts";

export function createMemoryBroker(): Broker {
  let handler: BrokerEventHandler;
  return {
    async start(h) {
      handler = h;
    },
    message: (m) => handler.message(m),
    roomEvent: (e) => handler.roomEvent(e),
    event: (room, kind, body, except) => handler.event(room, kind, body, except),
    kick: (k) => handler.kick(k),
    presence: (room) => handler.presenceChanged(room),
    watch() {},
    position: () => undefined,
    online: (_room, here) => here(),
    describe: () => "in memory (this instance only)",
    async close() {},
  };
}
