// Every HTTP request passes here once: CORS, errors turned into JSON, metrics, one access log line.
// The log and the metrics name the route pattern, never the path or query (which may hold a session id).
import type { Server } from "bun";
import type { Config } from "../config.ts";
import { ApiError, errorBody } from "../errors.ts";
import { clientAddress } from "../limits/address.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { errorResponse, json } from "./respond.ts";

type Handler = (req: any, server: Server<any>) => Response | undefined | Promise<Response | undefined>;

const LOGIN_FAILURES = new Set(["user_not_found", "wrong_credentials"]);
const PROBES = new Set(["/healthz", "/readyz", "/metrics"]); // logged at debug: scraped every few seconds

export function toResponse(e: unknown, log: Logger): Response {
  if (e instanceof ApiError) return json(errorBody(e.code, e.message), e.status, e.headers);
  log.error("unhandled error", { error: String(e), stack: e instanceof Error ? e.stack : undefined });
  return errorResponse("internal_error");
}

// CORS is off unless origins are listed; "*" allows any origin. Sessions travel in headers, not
// cookies, so credentials are never allowed.
function corsFor(origins: readonly string[]) {
  const allowed = (o: string | null): o is string => o !== null && (origins.includes("*") || origins.includes(o));
  return {
    preflight(req: Request): Response | null {
      const origin = req.headers.get("origin");
      if (req.method !== "OPTIONS" || !allowed(origin) || !req.headers.has("access-control-request-method"))
        return null;
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
          "access-control-allow-headers": "content-type, x-session-id, authorization",
          "access-control-max-age": "600",
          vary: "Origin",
        },
      });
    },
    decorate(req: Request, res: Response) {
      if (origins.length === 0) return;
      res.headers.append("vary", "Origin");
      const origin = req.headers.get("origin");
      if (allowed(origin)) res.headers.set("access-control-allow-origin", origin);
    },
  };
}

export function createObserver(deps: { config: Config; log: Logger; metrics: Metrics }) {
  const { config, log, metrics } = deps;
  const cors = corsFor(config.corsOrigins);
  const logging = config.logLevel === "debug" || config.logLevel === "info";

  function wrap(route: string, handler: Handler): Handler {
    return async (req: Request, server: Server<any>) => {
      const start = performance.now();
      // Read before an upgrade takes the socket, and only when the line will be written.
      const addr = logging ? clientAddress(req, server, config.trustProxy) : undefined;
      let res: Response | undefined;
      let code: string | undefined;
      try {
        res = cors.preflight(req) ?? (await handler(req, server));
      } catch (e) {
        res = toResponse(e, log);
        code = e instanceof ApiError ? e.code : "internal_error";
      }
      if (res) cors.decorate(req, res);
      const status = res?.status ?? 101; // undefined: the handler upgraded to a WebSocket
      record(deps, req.method, route, status, (performance.now() - start) / 1000, code, addr);
      return res;
    };
  }

  return {
    wrap,
    routes: <T extends Record<string, unknown>>(table: T): T => wrapRoutes(table, wrap),
  };
}

// One request's metrics and access log line, under its route pattern.
function record(
  { log, metrics }: { log: Logger; metrics: Metrics },
  method: string,
  route: string,
  status: number,
  seconds: number,
  code: string | undefined,
  addr: string | undefined,
) {
  metrics.httpRequests.inc({ method, route, status: String(status) });
  metrics.httpDuration.observe({ route }, seconds);
  if (route === "/v1/login" && code && LOGIN_FAILURES.has(code)) metrics.loginFailures.inc();
  log[PROBES.has(route) ? "debug" : "info"]("request", {
    method,
    route,
    status,
    ms: Math.round(seconds * 10000) / 10,
    addr,
  });
}

// Wraps every handler of a Bun routes table; other values (static responses, HTML bundles) pass as they are.
function wrapRoutes<T extends Record<string, unknown>>(table: T, wrap: (route: string, h: Handler) => Handler): T {
  const out: Record<string, unknown> = {};
  for (const [route, value] of Object.entries(table)) {
    if (typeof value === "function") out[route] = wrap(route, value as Handler);
    else if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      out[route] = Object.fromEntries(
        Object.entries(value).map(([m, h]) => [m, typeof h === "function" ? wrap(route, h as Handler) : h]),
      );
    } else out[route] = value;
  }
  return out as T;
}
