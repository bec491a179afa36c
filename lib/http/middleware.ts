// Every HTTP request passes here once: CORS and the Origin check, errors turned into JSON, metrics, one
// access log line.
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
    allowed,
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
      if (!allowed(origin)) return;
      res.headers.set("access-control-allow-origin", origin);
      // Readable by the page: the room list's next-page cursor, and when to retry.
      res.headers.set("access-control-expose-headers", "Link, Retry-After");
    },
  };
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// A web page on another origin can make its visitors' browsers send simple requests (a POST with a
// text/plain body needs no preflight) and open WebSockets. Browsers always send Origin then, so a
// state-changing request or an upgrade whose Origin is neither this server's own nor allowed by CORS is
// refused. Clients that send no Origin (curl, apps) are not browsers and pass, with any Content-Type.
function originGuard(allowedByCors: (origin: string) => boolean, trustProxy: boolean) {
  return (req: Request) => {
    const origin = req.headers.get("origin");
    if (origin === null || allowedByCors(origin)) return;
    if (!STATE_CHANGING.has(req.method) && req.headers.get("upgrade")?.toLowerCase() !== "websocket") return;
    if (!ownOrigin(req, origin, trustProxy)) throw new ApiError("forbidden_origin");
  };
}

const HOST = /^[a-z0-9.\-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;
const last = (header: string | null) => header?.split(",").at(-1)?.trim() || undefined;

// Own origin: the Origin's host and port are the Host the client used. Behind a proxy that terminates
// TLS the Origin says https and echat hears http, so the scheme is compared only when a trusted proxy
// states it (X-Forwarded-Proto); the proxy must pass the client's Host on (docs/deploy.md), or with
// --trust-proxy state it in X-Forwarded-Host (the last entry: the one our proxy wrote).
function ownOrigin(req: Request, origin: string, trustProxy: boolean): boolean {
  const host = (trustProxy && last(req.headers.get("x-forwarded-host"))) || req.headers.get("host");
  if (!host || !HOST.test(host)) return false;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and anything else that is not a URL
  }
  if (o.protocol !== "http:" && o.protocol !== "https:") return false;
  const proto = trustProxy ? last(req.headers.get("x-forwarded-proto"))?.toLowerCase() : undefined;
  if (proto && `${proto}:` !== o.protocol) return false;
  // Parsed with the Origin's scheme, so a default port is dropped on both sides alike (Host: x:443).
  return new URL(`${o.protocol}//${host}`).host === o.host;
}

export function createObserver(deps: { config: Config; log: Logger; metrics: Metrics }) {
  const { config, log, metrics } = deps;
  const cors = corsFor(config.corsOrigins);
  const refuseForeignOrigin = originGuard(cors.allowed, config.trustProxy);
  const logging = config.logLevel === "debug" || config.logLevel === "info";

  function wrap(pattern: string, handler: Handler): Handler {
    const route = routeLabel(pattern);
    return async (req: Request, server: Server<any>) => {
      const start = performance.now();
      // Read before an upgrade takes the socket, and only when the line will be written.
      const addr = logging ? clientAddress(req, server, config.trustProxy) : undefined;
      let res: Response | undefined;
      let code: string | undefined;
      try {
        res = cors.preflight(req) ?? undefined;
        if (!res) {
          refuseForeignOrigin(req); // before the handler: a refused request changes nothing, upgrades nothing
          res = await handler(req, server);
        }
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

// One label per route: a pattern the table lists with and without a trailing slash counts as one.
const routeLabel = (pattern: string) => (pattern.length > 1 ? pattern.replace(/\/+$/, "") : pattern);

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
