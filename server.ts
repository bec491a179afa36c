// Wiring only: config -> store -> handlers -> Bun.serve -> shutdown. The CLI (lib/cli.ts) is the entry point.
import pkg from "./package.json" with { type: "json" };
import { main } from "./lib/cli.ts";
import { openBroker } from "./lib/broker.ts";
import type { Config } from "./lib/config.ts";
import { createHandlers } from "./lib/http.ts";
import { createHub } from "./lib/hub.ts";
import { createLimits } from "./lib/limits.ts";
import { openSharedBuckets } from "./lib/limits-shared.ts";
import { createLogger } from "./lib/log.ts";
import { countStore, createMetrics } from "./lib/metrics.ts";
import { createObserver, toResponse } from "./lib/observe.ts";
import { pageRoutes } from "./lib/page.ts";
import { errorResponse, json, methods } from "./lib/respond.ts";
import { withSessionCache } from "./lib/session-cache.ts";
import { openStore, type Store } from "./lib/store.ts";
import page from "./web/index.html";

export const VERSION = pkg.version;

const GRACE_MS = 5000; // after this, connections still open at shutdown are cut

// stop(): at once, for tests. shutdown(): graceful, for signals (see stop below).
export type Running = { url: string; wsUrl: string; port: number; stop: () => Promise<void>; shutdown: () => Promise<void> };

// wrapStore lets a test inject a failing store to prove the error paths; production never passes it.
// log: where log lines go (default stderr); tests capture them.
export async function startServer(
  config: Config,
  opts: { now?: () => number; wrapStore?: (s: Store) => Store; log?: (line: string) => void } = {},
): Promise<Running> {
  const log = createLogger(config, opts.log);
  const now = opts.now ?? Date.now;
  const metrics = createMetrics(VERSION);
  const opened = await openStore(config);
  const store = withSessionCache(countStore(opts.wrapStore ? opts.wrapStore(opened) : opened, metrics), now);
  // The broker and the shared buckets use the PostgreSQL client itself (LISTEN/NOTIFY, upserts).
  const shared = openSharedBuckets(config, opened, now, log);
  const limits = createLimits(config, now, shared);
  const broker = await openBroker(config, opened, log);
  const hub = createHub({ store, config, now, log, limits, broker });
  await broker.start(hub.local);
  metrics.readFrom({ sockets: () => hub.stats().sockets, rooms: () => hub.stats().rooms, delivered: () => hub.stats().delivered });
  const h = createHandlers({
    store, config, now, limits, log,
    onLogout: (caller) => hub.closeSession(caller.tokenHash),
    onPasswordChange: (caller) => hub.closeUser(caller.userId, caller.tokenHash),
  });
  const observe = createObserver({ config, log, metrics });
  let stopping = false;

  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: 16 * 1024 * 1024, // the API's own 64 KiB limit answers in JSON; see readJson
    development: false, // dev mode injects an inline HMR script, which the page's CSP forbids
    // Explicit: with development off, Bun otherwise binds with SO_REUSEPORT, and a second echat on the
    // same port would silently share its traffic instead of failing to start.
    reusePort: false,
    routes: observe.routes({
      ...pageRoutes(page),
      "/v1/register": methods({ POST: h.handleRegister }),
      "/v1/login": methods({ POST: h.handleLogin }),
      "/v1/logout": methods({ POST: h.handleLogout }),
      "/v1/password": methods({ POST: h.handlePassword }),
      "/v1/info": methods({ GET: h.handleInfo }),
      "/v1/users": methods({ GET: h.handleSearchUsers }),
      "/v1/users/": methods({ GET: h.handleSearchUsers }),
      "/v1/rooms": methods({ GET: h.handleListRooms, POST: h.handleCreateRoom }),
      "/v1/rooms/:id": methods({ GET: h.handleGetRoom }),
      "/v1/rooms/:id/messages": methods({ GET: h.handleListMessages }),
      "/v1/rooms/:id/chat": methods({ GET: hub.handleChat }),
      "/healthz": methods({ GET: () => json({ status: "ok" }) }),
      "/readyz": methods({
        GET: async () => {
          if (stopping) return errorResponse("unavailable", "Shutting down");
          try {
            await store.ping();
          } catch (e) {
            log.error("readiness check: the database did not answer", { error: String(e) });
            return errorResponse("unavailable", "The database did not answer");
          }
          return json({ status: "ok", database: "ok" });
        },
      }),
      "/metrics": methods({
        GET: () => new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
      }),
    }),
    websocket: hub.websocket,
    fetch: observe.wrap("unmatched", () => errorResponse("not_found")) as (req: Request, s: any) => Promise<Response>,
    error: (e) => toResponse(e, log),
  });

  // Stop accepting, close every WebSocket with 1001, give requests in flight up to graceMs, then cut
  // what is left, write pending messages, checkpoint and close the database.
  async function stop(graceMs: number) {
    stopping = true;
    const drained = server.stop(); // idle keep-alive connections close now
    hub.closeAll();
    let timer: Timer | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), graceMs)));
    if ((await Promise.race([drained, late])) === "late") {
      if (graceMs > 0) log.warn("connections still open after the grace period; closing them");
      await server.stop(true);
    }
    clearTimeout(timer);
    await broker.close();
    shared?.close();
    await store.close();
  }

  hub.bind(server);
  const url = `http://${server.hostname === "0.0.0.0" ? "localhost" : server.hostname}:${server.port}`;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    port: server.port!,
    stop: () => stop(0),
    shutdown: () => stop(GRACE_MS),
  };
}

if (import.meta.main) {
  process.exit(await main(Bun.argv.slice(2), { startServer, version: VERSION }));
}
