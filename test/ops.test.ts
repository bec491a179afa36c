// Operability: health and readiness, Prometheus metrics, the access log, CORS and trust-proxy.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, configFor } from "../lib/config.ts";
import { countStore, createMetrics } from "../lib/metrics.ts";
import { startServer as start } from "../server.ts";
import { call, createRoom, expectError, register } from "./support/http.ts";
import { parseExposition, scrape } from "./support/metrics.ts";
import { TEST_CONFIG } from "./support/server.ts";
import { isMessage, sendAll, Socket } from "./support/socket.ts";

// A server whose log lines are captured, at info level unless told otherwise.
const stops: Array<() => Promise<void>> = [];
afterAll(() => Promise.all(stops.map((stop) => stop())));
async function startLogged(overrides: Partial<Config> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "echat-ops-"));
  const config = configFor({ ...TEST_CONFIG, db: join(dir, "echat.db"), logLevel: "info", ...overrides });
  const lines: string[] = [];
  const running = await start(config, { log: (line) => lines.push(line) });
  stops.push(async () => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...running, lines };
}

describe("health and readiness", () => {
  test("/healthz and /readyz answer JSON; other methods are refused", async () => {
    const s = await startLogged();
    const health = await call(s.url, "GET", "/healthz");
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: "ok" } });
    expect(health.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const ready = await call(s.url, "GET", "/readyz");
    expect({ status: ready.status, body: ready.body }).toEqual({ status: 200, body: { status: "ok", database: "ok" } });
    expect((await call(s.url, "HEAD", "/healthz")).status).toBe(200);
    expectError(await call(s.url, "POST", "/readyz"), 405, "method_not_allowed");
    expectError(await call(s.url, "DELETE", "/metrics"), 405, "method_not_allowed");
  });
});

describe("metrics", () => {
  test("a scrape is valid exposition format and the counters move with traffic", async () => {
    const s = await startLogged();
    const before = await scrape(s.url);
    expect(before.get("echat_websockets_open")).toBe(0);
    expect(before.get("process_resident_memory_bytes")).toBeGreaterThan(0);

    const [alice, bob] = await Promise.all([register(s.url, "alice"), register(s.url, "bob")]);
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: "not her password" } }),
      422,
      "wrong_credentials",
    );
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "nobody", password: "whatever1" } }),
      422,
      "user_not_found",
    );
    const room = await createRoom(s.url, alice, [bob]);
    const [a, b] = await Promise.all(
      [alice, bob].map((u) => Socket.open(`${s.wsUrl}/v1/rooms/${room}/chat?session_id=${u.session}`)),
    );
    await sendAll(a!, ["one", "two", "three"]);
    await b!.take(3, isMessage);

    const after = await scrape(s.url);
    const moved = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(after.get("echat_websockets_open")).toBe(2);
    expect(after.get("echat_rooms_active")).toBe(1);
    expect(moved("echat_messages_stored_total")).toBe(3);
    expect(moved("echat_messages_delivered_total")).toBe(6); // 3 messages x 2 sockets
    expect(moved("echat_login_failures_total")).toBe(2);
    expect(after.get('echat_http_requests_total{method="POST",route="/v1/register",status="200"}')).toBe(2);
    expect(after.get('echat_http_requests_total{method="POST",route="/v1/login",status="422"}')).toBe(2);
    expect(after.get('echat_http_requests_total{method="GET",route="/v1/rooms/:id/chat",status="101"}')).toBe(2);
    expect(after.get('echat_build_info{version="0.1.0"}')).toBe(1);
    // Route patterns, never ids or paths, are labels.
    expect([...after.keys()].filter((k) => k.includes(`/${room}`))).toEqual([]);

    // The histogram: cumulative buckets, +Inf equal to the count.
    const route = 'route="/v1/register"';
    const buckets = [...after].filter(([k]) => k.startsWith(`echat_http_request_duration_seconds_bucket{${route},`));
    expect(buckets.length).toBeGreaterThan(5);
    const counts = buckets.map(([, v]) => v);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    expect(after.get(`echat_http_request_duration_seconds_bucket{${route},le="+Inf"}`)).toBe(2);
    expect(after.get(`echat_http_request_duration_seconds_count{${route}}`)).toBe(2);
    expect(after.get(`echat_http_request_duration_seconds_sum{${route}}`)).toBeGreaterThan(0);
    await Promise.all([a!.close(), b!.close()]);
  });

  test("failed store calls count as store errors and still fail; duplicates are not stored twice", async () => {
    // The one place a stand-in store is used: a real database will not fail on demand.
    const metrics = createMetrics("test");
    let duplicate = false;
    const store = countStore(
      {
        async ping(): Promise<void> {
          throw new Error("disk on fire");
        },
        async createMessage() {
          return { duplicate };
        },
      },
      metrics,
    );
    await expect(store.ping()).rejects.toThrow("disk on fire");
    await store.createMessage();
    duplicate = true;
    await store.createMessage();
    const scraped = parseExposition(await metrics.render());
    expect(scraped.get("echat_store_errors_total")).toBe(1);
    expect(scraped.get("echat_messages_stored_total")).toBe(1);
  });
});

describe("the access log", () => {
  test("one line per request with method, route pattern, status and ms; no session id, password or query", async () => {
    const s = await startLogged();
    const alice = await register(s.url, "alice", "secret password");
    const room = await createRoom(s.url, alice, []);
    const sock = await Socket.open(`${s.wsUrl}/v1/rooms/${room}/chat?session_id=${alice.session}&after=0`);
    await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=5&session_id=${alice.session}`, {
      session: alice.session,
    });
    await call(s.url, "GET", "/no/such/thing?token=abc");
    await call(s.url, "GET", "/healthz"); // probes are logged at debug only
    await sock.close();
    const requests = s.lines.filter((l) => / INFO {2}request /.test(l));
    const fields = requests.map((l) =>
      Object.fromEntries(
        l
          .split(" ")
          .slice(3)
          .map((kv) => kv.split("=")),
      ),
    );
    expect(fields.map((f) => `${f.method} ${f.route} ${f.status}`)).toEqual([
      "POST /v1/register 200",
      "GET /v1/info 200",
      "POST /v1/rooms 200",
      "GET /v1/rooms/:id/chat 101",
      "GET /v1/rooms/:id/messages 200",
      "GET unmatched 404",
    ]);
    for (const f of fields) {
      expect(f.ms).toMatch(/^\d+(\.\d)?$/);
      expect(f.addr).toBe("127.0.0.1");
    }
    const all = s.lines.join("\n");
    for (const secret of [alice.session, "secret password", "session_id", "token=abc", "?"])
      expect(all).not.toContain(secret);
  });

  test("--log-format json writes one JSON object per line", async () => {
    const s = await startLogged({ logFormat: "json" });
    await call(s.url, "GET", "/v1/info");
    expect(s.lines.length).toBeGreaterThan(0);
    const objects = s.lines.map((l) => JSON.parse(l));
    expect(objects.find((o) => o.msg === "request")).toEqual({
      time: expect.stringMatching(/Z$/),
      level: "info",
      msg: "request",
      method: "GET",
      route: "/v1/info",
      status: 401,
      ms: expect.any(Number),
      addr: "127.0.0.1",
    });
  });
});

describe("client address and CORS settings", () => {
  const forwarded = { "x-forwarded-for": "198.51.100.1, 203.0.113.7" };
  const addrOf = (lines: string[]) => / addr=(\S+)/.exec(lines.findLast((l) => l.includes(" request "))!)?.[1];

  test("X-Forwarded-For is ignored unless trust-proxy is on; then its last entry is the client", async () => {
    const plain = await startLogged();
    await call(plain.url, "GET", "/v1/info", { headers: forwarded });
    expect(addrOf(plain.lines)).toBe("127.0.0.1");
    const proxied = await startLogged({ trustProxy: true });
    await call(proxied.url, "GET", "/v1/info", { headers: forwarded });
    expect(addrOf(proxied.lines)).toBe("203.0.113.7");
  });

  const preflight = {
    origin: "https://chat.example",
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, x-session-id",
  };

  test("CORS is off by default: no preflight answer, no Allow-Origin header", async () => {
    const s = await startLogged();
    expectError(await call(s.url, "OPTIONS", "/v1/rooms", { headers: preflight }), 405, "method_not_allowed");
    const r = await call(s.url, "GET", "/v1/info", { headers: { origin: "https://chat.example" } });
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("with --cors-origins, listed origins get preflight and Allow-Origin; others do not", async () => {
    const s = await startLogged({ corsOrigins: ["https://chat.example"] });
    const pre = await call(s.url, "OPTIONS", "/v1/rooms", { headers: preflight });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://chat.example");
    expect(pre.headers.get("access-control-allow-headers")).toContain("x-session-id");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();

    const allowed = await call(s.url, "GET", "/v1/info", { headers: { origin: "https://chat.example" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://chat.example");
    expect(allowed.headers.get("access-control-expose-headers")).toBe("Link, Retry-After");
    expect(allowed.headers.get("vary")).toContain("Origin");
    const other = await call(s.url, "GET", "/v1/info", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("access-control-expose-headers")).toBeNull();
    expect(other.headers.get("vary")).toContain("Origin");
    expectError(
      await call(s.url, "OPTIONS", "/v1/rooms", { headers: { ...preflight, origin: "https://evil.example" } }),
      405,
      "method_not_allowed",
    );
  });
});
