// Redis transport for the shared broker: one pub/sub channel for all rooms (payloads name their room),
// and per-room sorted sets of who is online where, scored by expiry. Two connections, because a
// subscribed Redis connection can run nothing else.
import { RedisClient } from "bun";
import type { Transport } from "./broker.ts";
import type { Logger } from "../log.ts";

const WATCHDOG_MS = 5000;
const START_WAIT_MS = 2000;

// The two connections and what they share: whether we are closing, and whether the loss of Redis has
// been logged (so that a reconnect logs once that it is back).
type Link = { cmd: RedisClient; sub: RedisClient; closing: boolean; lost: boolean };

// namespace: the database's deployment id, so deployments sharing a Redis stay apart.
export async function openRedisTransport(url: string, namespace: string, log: Logger): Promise<Transport> {
  const channel = `echat:${namespace}:fanout`;
  const link = openLink(url, log);
  await waitForStart(link, log);
  const watchdog = startWatchdog(link);
  return {
    name: "Redis",
    maxPayload: 512 * 1024 * 1024,
    async publish(payload) {
      await link.cmd.publish(channel, payload);
    },
    subscribe: (onPayload, onReconnect) => subscribe(link, channel, onPayload, onReconnect, log),
    presence: redisPresence(link.cmd, namespace),
    async close() {
      link.closing = true;
      clearInterval(watchdog);
      link.cmd.close();
      link.sub.close();
    },
  };
}

function openLink(url: string, log: Logger): Link {
  // Bun reconnects with backoff (50 ms doubling to 2 s); the watchdog takes over if it gives up.
  // No offline queue: while Redis is away, publishing fails at once instead of piling up.
  const options = { enableOfflineQueue: false, autoReconnect: true, maxRetries: 1000, connectionTimeout: 5000 };
  const link: Link = {
    cmd: new RedisClient(url, options),
    sub: new RedisClient(url, options),
    closing: false,
    lost: false,
  };
  for (const [name, client] of [
    ["commands", link.cmd],
    ["subscriber", link.sub],
  ] as const) {
    client.onclose = (e) => {
      if (link.closing || link.lost) return;
      link.lost = true;
      log.error("Redis connection lost: serving this instance's sockets only, reconnecting", {
        connection: name,
        error: String(e),
      });
    };
  }
  return link;
}

// Redis away at start: serve anyway, as when it goes away later (Bun keeps retrying, and a
// subscription is made whenever the subscriber connects).
async function waitForStart(link: Link, log: Logger) {
  const connected = Promise.all([link.cmd.connect(), link.sub.connect()]).then(
    () => true,
    () => false,
  );
  if (!(await Promise.race([connected, Bun.sleep(START_WAIT_MS).then(() => false)]))) {
    link.lost = true;
    log.error("Redis unreachable at start: serving this instance's sockets only, retrying");
  }
}

function startWatchdog(link: Link) {
  const watchdog = setInterval(() => {
    for (const client of [link.cmd, link.sub]) if (!client.connected && !link.closing) client.connect().catch(() => {});
  }, WATCHDOG_MS);
  watchdog.unref();
  return watchdog;
}

async function subscribe(
  link: Link,
  channel: string,
  onPayload: (payload: string) => void,
  onReconnect: () => void,
  log: Logger,
) {
  const { sub } = link;
  // A new connection has no subscription on the server, while the client still holds the listener:
  // drop it and subscribe again (subscribing on top would deliver everything twice).
  sub.onconnect = () => {
    if (link.closing) return;
    // (unsubscribe throws when this client never subscribed: Redis was away at start)
    Promise.resolve()
      .then(() => sub.unsubscribe(channel))
      .catch(() => {})
      .then(() => sub.subscribe(channel, onPayload))
      .then(() => {
        if (link.lost) log.info("Redis is back: fan-out resumed");
        link.lost = false;
        onReconnect();
      })
      .catch((e) => log.error("Redis resubscribe failed", { error: String(e) }));
  };
  if (sub.connected) await sub.subscribe(channel, onPayload);
}

function redisPresence(cmd: RedisClient, namespace: string): Transport["presence"] {
  const onlineKey = (room: number) => `echat:${namespace}:online:${room}`;
  return {
    async set(room, key, expiresAt) {
      await cmd.send("ZADD", [onlineKey(room), String(expiresAt), key]);
      await cmd.send("PEXPIREAT", [onlineKey(room), String(expiresAt)]); // an abandoned room's set goes too
    },
    async remove(room, key) {
      await cmd.send("ZREM", [onlineKey(room), key]);
    },
    async list(room, now) {
      await cmd.send("ZREMRANGEBYSCORE", [onlineKey(room), "-inf", String(now)]);
      return (await cmd.send("ZRANGE", [onlineKey(room), "0", "-1"])) as string[];
    },
  };
}
