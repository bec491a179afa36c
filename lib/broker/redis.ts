// Redis transport for the shared broker: one pub/sub channel for all rooms (payloads name their room),
// and per-room sorted sets of who is online where, scored by expiry. Two connections, because a
// subscribed Redis connection can run nothing else.
import { RedisClient } from "bun";
import type { Transport } from "./broker.ts";
import type { Logger } from "../log.ts";

const WATCHDOG_MS = 5000;
const START_WAIT_MS = 2000;

// namespace: the database's deployment id, so deployments sharing a Redis stay apart.
export async function openRedisTransport(url: string, namespace: string, log: Logger): Promise<Transport> {
  const CHANNEL = `echat:${namespace}:fanout`;
  const onlineKey = (room: number) => `echat:${namespace}:online:${room}`;
  // Bun reconnects with backoff (50 ms doubling to 2 s); the watchdog below takes over if it gives up.
  // No offline queue: while Redis is away, publishing fails at once instead of piling up.
  const options = { enableOfflineQueue: false, autoReconnect: true, maxRetries: 1000, connectionTimeout: 5000 };
  const cmd = new RedisClient(url, options);
  const sub = new RedisClient(url, options);
  let closing = false;
  let lost = false;
  for (const [name, client] of [
    ["commands", cmd],
    ["subscriber", sub],
  ] as const) {
    client.onclose = (e) => {
      if (closing || lost) return;
      lost = true;
      log.error("Redis connection lost: serving this instance's sockets only, reconnecting", {
        connection: name,
        error: String(e),
      });
    };
  }
  // Redis away at start: serve anyway, as when it goes away later (Bun keeps retrying, and a
  // subscription is made whenever the subscriber connects).
  const connected = Promise.all([cmd.connect(), sub.connect()]).then(
    () => true,
    () => false,
  );
  if (!(await Promise.race([connected, Bun.sleep(START_WAIT_MS).then(() => false)]))) {
    lost = true;
    log.error("Redis unreachable at start: serving this instance's sockets only, retrying");
  }

  const watchdog = setInterval(() => {
    for (const client of [cmd, sub]) if (!client.connected && !closing) client.connect().catch(() => {});
  }, WATCHDOG_MS);
  watchdog.unref();

  return {
    name: "Redis",
    maxPayload: 512 * 1024 * 1024,
    async publish(payload) {
      await cmd.publish(CHANNEL, payload);
    },
    async subscribe(onPayload, onReconnect) {
      // A new connection has no subscription on the server, while the client still holds the listener:
      // drop it and subscribe again (subscribing on top would deliver everything twice).
      sub.onconnect = () => {
        if (closing) return;
        // (unsubscribe throws when this client never subscribed: Redis was away at start)
        Promise.resolve()
          .then(() => sub.unsubscribe(CHANNEL))
          .catch(() => {})
          .then(() => sub.subscribe(CHANNEL, onPayload))
          .then(() => {
            if (lost) log.info("Redis is back: fan-out resumed");
            lost = false;
            onReconnect();
          })
          .catch((e) => log.error("Redis resubscribe failed", { error: String(e) }));
      };
      if (sub.connected) await sub.subscribe(CHANNEL, onPayload);
    },
    presence: {
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
    },
    async close() {
      closing = true;
      clearInterval(watchdog);
      cmd.close();
      sub.close();
    },
  };
}
