// Web Push's running parts, started by server.ts: the queue the message path feeds (queue.ts) and the drainer
// that sends (drain.ts), signed with the server's VAPID key.
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Message, Store } from "../store/store.ts";
import { createPushDrainer } from "./drain.ts";
import { createPushQueue } from "./queue.ts";
import { createVapidSigner, type VapidKeys } from "./vapid.ts";

type Deps = {
  store: Store;
  config: Config;
  now: () => number;
  log: Logger;
  metrics: Metrics;
  vapid: VapidKeys;
  online: () => number[] | Promise<number[]>;
};

export type Pushes = { stored(m: Message): void; stop(): Promise<void> };

// The VAPID contact (RFC 8292's `sub`): --push-contact, else the public URL when it is https:, else a placeholder
// push services accept (a reachable contact is better: docs/deploy.md).
export function vapidContact(config: Pick<Config, "pushContact" | "publicUrl">): string {
  if (config.pushContact) return config.pushContact;
  return config.publicUrl.startsWith("https://") ? config.publicUrl : "mailto:echat@localhost";
}

export async function startPushes(deps: Deps): Promise<Pushes> {
  const { store, config, now, log, metrics, online } = deps;
  const signer = await createVapidSigner(deps.vapid, vapidContact(config), now);
  const drainer = createPushDrainer({
    store,
    now,
    log,
    metrics,
    signer,
    online,
    preview: config.pushPreview,
    allowLoopback: config.pushAllowLoopback,
  });
  const queue = createPushQueue({
    store,
    now,
    log,
    metrics,
    online,
    delayMs: config.pushDelay * 1000,
    flushed: drainer.flushed,
  });
  return {
    stored: queue.stored,
    async stop() {
      await queue.stop();
      await drainer.stop();
    },
  };
}
