// Redis transport for the shared broker: one pub/sub channel for all rooms (payloads name their room),
// and per-room sorted sets of who is online where, scored by expiry. Two connections, because a
// subscribed Redis connection can run nothing else.
import { RedisClient } from "bun";
import type { Transport } from "./broker.ts";
import type { Logger } from "../log.ts";
import { maskUrl } from "../config.ts";
import { probeRedis } from "./redis-probe.ts";

const WATCHDOG_MS = 5000;
const START_WAIT_MS = 2000;
const REMIND_MS = 60_000; // while Redis stays away, the error is logged again at most this often

// The two connections and what they share: whether we are closing, whether the loss of Redis has been
// logged (so that a reconnect logs once that it is back), and when it was last logged.
type Link = {
  url: string;
  cmd: RedisClient;
  sub: RedisClient;
  closing: boolean;
  lost: boolean;
  loggedAt: number;
  now: () => number;
};

// namespace: the database's deployment id, so deployments sharing a Redis stay apart.
// now: the clock of the reminders (tests move it).
export async function openRedisTransport(
  url: string,
  namespace: string,
  log: Logger,
  now: () => number = Date.now,
): Promise<Transport> {
  const channel = `echat:${namespace}:fanout`;
  const link = openLink(url, log, now);
  await waitForStart(link, log);
  const watchdog = startWatchdog(link, log);
  return {
    name: `Redis ${redisAddress(url)}`,
    connected: () => link.cmd.connected && link.sub.connected,
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

function openLink(url: string, log: Logger, now: () => number): Link {
  // Bun reconnects with backoff (50 ms doubling to 2 s); the watchdog takes over if it gives up.
  // No offline queue: while Redis is away, publishing fails at once instead of piling up.
  const options = { enableOfflineQueue: false, autoReconnect: true, maxRetries: 1000, connectionTimeout: 5000 };
  const link: Link = {
    url,
    cmd: new RedisClient(url, options),
    sub: new RedisClient(url, options),
    closing: false,
    lost: true, // until waitForStart sees it connected: it alone reports a failure at start
    loggedAt: 0,
    now,
  };
  for (const [name, client] of [
    ["commands", link.cmd],
    ["subscriber", link.sub],
  ] as const) {
    client.onclose = (e) => {
      if (link.closing || link.lost) return;
      link.lost = true;
      link.loggedAt = link.now();
      log.error("Redis connection lost: serving this instance's sockets only, reconnecting", {
        connection: name,
        error: String(e),
      });
    };
  }
  return link;
}

// Redis away at start: serve anyway, as when it goes away later (Bun keeps retrying, and a
// subscription is made whenever the subscriber connects). A refusal (closed port, wrong password) is
// logged at once, with its reason, from our own probe; silence after START_WAIT_MS likewise.
async function waitForStart(link: Link, log: Logger) {
  const connected = Promise.all([link.cmd.connect(), link.sub.connect()]).then(
    () => true,
    () => false,
  );
  const refused = probeRedis(link.url).then<boolean | string>((reason) => reason ?? connected);
  const first = await Promise.race([connected, refused, Bun.sleep(START_WAIT_MS).then(() => "no answer")]);
  if (first === true) return void (link.lost = false);
  link.loggedAt = link.now();
  const reason = typeof first === "string" ? first : ((await probeRedis(link.url)) ?? "connection failed");
  log.error("Redis unreachable at start: serving this instance's sockets only, retrying", {
    redis: redisAddress(link.url),
    error: reason,
  });
}

// Reconnects a client Bun gave up on, and while Redis stays away says so again at most once a minute.
function startWatchdog(link: Link, log: Logger) {
  const watchdog = setInterval(() => {
    if (link.closing) return;
    for (const client of [link.cmd, link.sub]) if (!client.connected) client.connect().catch(() => {});
    if (link.lost && link.now() - link.loggedAt >= REMIND_MS) {
      link.loggedAt = link.now();
      void probeRedis(link.url).then((reason) => {
        if (link.lost && !link.closing)
          log.error("Redis still unreachable: serving this instance's sockets only, retrying", {
            redis: redisAddress(link.url),
            error: reason ?? "not connected",
          });
      });
    }
  }, WATCHDOG_MS);
  watchdog.unref();
  return watchdog;
}

// host:port for logs: never the password.
function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return maskUrl(url);
  }
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
