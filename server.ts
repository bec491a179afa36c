// Wiring only: config -> store -> handlers -> Bun.serve -> shutdown.
import pkg from "./package.json" with { type: "json" };
import { type Config, loadConfig, ConfigError } from "./lib/config.ts";
import { ApiError, errorBody } from "./lib/errors.ts";
import { createHandlers } from "./lib/http.ts";
import { createHub } from "./lib/hub.ts";
import { createLimits } from "./lib/limits.ts";
import { createLogger } from "./lib/log.ts";
import { errorResponse, json, methods } from "./lib/respond.ts";
import { openStore, type Store } from "./lib/store.ts";
import { pageRoutes } from "./lib/page.ts";
import page from "./web/index.html";

export const VERSION = pkg.version;

export type Running = { url: string; wsUrl: string; port: number; stop: () => Promise<void> };

// wrapStore lets a test inject a failing store to prove the error paths; production never passes it.
// log: where log lines go (default stderr); tests capture them.
export async function startServer(
  config: Config,
  opts: { now?: () => number; wrapStore?: (s: Store) => Store; log?: (line: string) => void } = {},
): Promise<Running> {
  const log = createLogger(config, opts.log);
  const now = opts.now ?? Date.now;
  const opened = await openStore(config);
  const store = opts.wrapStore ? opts.wrapStore(opened) : opened;
  const limits = createLimits(config, now);
  const hub = createHub({ store, config, now, log, limits });
  const h = createHandlers({
    store, config, now, limits, log,
    onLogout: (caller) => hub.closeSession(caller.tokenHash),
    onPasswordChange: (caller) => hub.closeUser(caller.userId, caller.tokenHash),
  });

  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: 16 * 1024 * 1024, // the API's own 64 KiB limit answers in JSON; see readJson
    development: false, // dev mode injects an inline HMR script, which the page's CSP forbids
    routes: {
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
    },
    websocket: hub.websocket,
    fetch: () => errorResponse("not_found"),
    error(e) {
      if (e instanceof ApiError) return json(errorBody(e.code, e.message), e.status, e.headers);
      log.error("unhandled error", { error: String(e), stack: e instanceof Error ? e.stack : undefined });
      return errorResponse("internal_error");
    },
  });

  hub.bind(server);
  const url = `http://${server.hostname === "0.0.0.0" ? "localhost" : server.hostname}:${server.port}`;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    port: server.port!,
    async stop() {
      hub.closeAll();
      await server.stop(true);
      await store.close();
    },
  };
}

if (import.meta.main) {
  let config: Config;
  try {
    config = loadConfig(Bun.argv.slice(2));
  } catch (e) {
    console.error(`echat: ${e instanceof ConfigError || e instanceof TypeError ? e.message : e}`);
    process.exit(2);
  }
  const running = await startServer(config);
  const log = createLogger(config);
  log.info(`echat ${VERSION} listening on ${running.url}`, { db: config.db });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, async () => {
      await running.stop();
      process.exit(0);
    });
  }
}
