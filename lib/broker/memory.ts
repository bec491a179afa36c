// One instance: delivery is local, nothing to order.
import type { Broker, Local } from "./broker.ts";

export function createMemoryBroker(): Broker {
  let local: Local;
  return {
    async start(l) {
      local = l;
    },
    message: (m) => local.message(m),
    watch() {},
    position: () => undefined,
    event() {},
    kick() {},
    presence() {},
    online: (_room, here) => here(),
    async close() {},
  };
}
