// What a hostile web page can make its visitors' browsers do: state-changing requests and WebSocket
// upgrades from a foreign Origin are refused (403 forbidden_origin) while clients without an Origin
// work as before; every HTML response carries the page's security headers, so no site can frame it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Config } from "../lib/config.ts";
import { call, createRoom, expectError, register, upgradeRequest } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";

const servers: TestServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));
async function serve(config: Partial<Config> = {}) {
  const s = await startServer({ config });
  servers.push(s);
  return s;
}

// A register as a browser sends it from a form or a fetch() with no preflight: text/plain, with Origin.
let n = 0;
const registerFrom = (s: TestServer, headers: Record<string, string>) =>
  call(s.url, "POST", "/v1/register", {
    raw: JSON.stringify({ login: `user${++n}`, password: "password123" }),
    headers: { "content-type": "text/plain;charset=UTF-8", ...headers },
  });

describe("state-changing requests from a browser on another origin", () => {
  let s: TestServer;
  let own: string;
  beforeAll(async () => {
    s = await serve();
    own = s.url; // http://127.0.0.1:<port>
  });

  test("a client that sends no Origin works with any Content-Type, as before", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/json"]) {
      const r = await registerFrom(s, { "content-type": type });
      expect(r.status).toBe(200);
      expect(r.body.session_id).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  test("the server's own origin passes: the web client's POSTs carry it", async () => {
    expect((await registerFrom(s, { origin: own })).status).toBe(200);
  });

  test.each([
    ["another site", "https://evil.example"],
    ["the same host on another port", "http://127.0.0.1:1"],
    ["another host name for the same address", "http://localhost:PORT"],
    ["a sandboxed frame or a file", "null"],
    ["a scheme that is not http", "chrome-extension://abcdef"],
    ["garbage", "not a url"],
  ])("%s is refused with 403 forbidden_origin, and nothing is stored", async (_, origin) => {
    origin = origin.replace("PORT", String(s.port));
    const login = `refused${++n}`;
    const r = await call(s.url, "POST", "/v1/register", {
      raw: JSON.stringify({ login, password: "password123" }),
      headers: { origin, "content-type": "text/plain" },
    });
    expectError(r, 403, "forbidden_origin");
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login, password: "password123" } }),
      422,
      "user_not_found",
    );
  });

  test("every state-changing method is checked, on every route, before the handler", async () => {
    const alice = await register(s.url, "origin-alice");
    const headers = { origin: "https://evil.example" };
    for (const [method, path] of [
      ["POST", "/v1/login"],
      ["POST", "/v1/logout"],
      ["POST", "/v1/password"],
      ["POST", "/v1/rooms"],
      ["PUT", "/v1/rooms"],
      ["PATCH", "/v1/rooms/1"],
      ["DELETE", "/v1/rooms/1"],
      ["POST", "/no/such/path"],
    ] as const) {
      expectError(
        await call(s.url, method, path, { session: alice.session, headers, body: {} }),
        403,
        "forbidden_origin",
      );
    }
    // The session was not logged out by the refused POST /v1/logout.
    expect((await call(s.url, "GET", "/v1/info", { session: alice.session })).status).toBe(200);
  });

  test("reads are not state-changing: a GET with a foreign Origin gets its normal answer", async () => {
    const alice = await register(s.url, "origin-reader");
    const r = await call(s.url, "GET", "/v1/info", {
      session: alice.session,
      headers: { origin: "https://evil.example" },
    });
    expect(r.body).toEqual({ id: alice.id, login: "origin-reader", admin: false });
  });
});

describe("the WebSocket upgrade applies the same Origin rule", () => {
  test("a foreign Origin gets 403 before the upgrade; the own origin and no Origin connect", async () => {
    const s = await serve();
    const alice = await register(s.url, "ws-alice");
    const room = await createRoom(s.url, alice, []);
    const chat = `${s.wsUrl}/v1/rooms/${room}/chat?session_id=${alice.session}`;
    expectError(await upgradeRequest(chat, { origin: "https://evil.example" }), 403, "forbidden_origin");
    expectError(await upgradeRequest(chat, { origin: "null" }), 403, "forbidden_origin");
    const variants: Record<string, string>[] = [{ origin: s.url }, {}];
    for (const headers of variants) {
      const ws = new WebSocket(chat, { headers } as any);
      const opened = await new Promise<boolean>((resolve) => {
        ws.onopen = () => resolve(true);
        ws.onerror = () => resolve(false);
      });
      expect(opened).toBe(true);
      ws.close();
    }
  });
});

describe("the CORS setting and a proxy in front", () => {
  test("an origin listed in --cors-origins may act; others may not; * allows every origin", async () => {
    const listed = await serve({ corsOrigins: ["https://app.example"] });
    const r = await registerFrom(listed, { origin: "https://app.example" });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expectError(await registerFrom(listed, { origin: "https://evil.example" }), 403, "forbidden_origin");
    const any = await serve({ corsOrigins: ["*"] });
    expect((await registerFrom(any, { origin: "https://evil.example" })).status).toBe(200);
  });

  test("behind a TLS proxy that passes Host on, the https Origin of that host is the server's own", async () => {
    const s = await serve();
    const pass = (host: string, origin: string) => registerFrom(s, { host, origin });
    expect((await pass("chat.example", "https://chat.example")).status).toBe(200);
    expect((await pass("chat.example:443", "https://chat.example")).status).toBe(200);
    expect((await pass("chat.example:8443", "https://chat.example:8443")).status).toBe(200);
    expect((await pass("CHAT.example", "https://chat.example")).status).toBe(200);
    expectError(await pass("chat.example:8443", "https://chat.example"), 403, "forbidden_origin");
    expectError(await pass("chat.example", "https://chat.example.evil"), 403, "forbidden_origin");
    expectError(await pass("chat.example", "https://evil.example"), 403, "forbidden_origin");
  });

  test("X-Forwarded-Host and X-Forwarded-Proto count only with --trust-proxy", async () => {
    const forwarded = { "x-forwarded-host": "chat.example", "x-forwarded-proto": "https" };
    const origin = "https://chat.example";
    const plain = await serve();
    expectError(await registerFrom(plain, { ...forwarded, origin }), 403, "forbidden_origin");
    const proxied = await serve({ trustProxy: true });
    expect((await registerFrom(proxied, { ...forwarded, origin })).status).toBe(200);
    // The proxy's entry is the last one; the scheme it states must be the Origin's.
    expect(
      (await registerFrom(proxied, { ...forwarded, "x-forwarded-host": "x.example, chat.example", origin })).status,
    ).toBe(200);
    expectError(await registerFrom(proxied, { ...forwarded, origin: "http://chat.example" }), 403, "forbidden_origin");
    expectError(await registerFrom(proxied, { ...forwarded, origin: "https://evil.example" }), 403, "forbidden_origin");
  });
});

describe("every HTML response carries the page's security headers", () => {
  let s: TestServer;
  beforeAll(async () => (s = await serve()));

  const expectPageHeaders = (res: { headers: Headers }) => {
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  };

  test.each(["/", "/index.html"])("GET and HEAD %s", async (path) => {
    const get = await call<string>(s.url, "GET", path);
    expect(get.status).toBe(200);
    expectPageHeaders(get);
    expect(get.body).toContain("<script");
    const head = await call(s.url, "HEAD", path);
    expect(head.status).toBe(200);
    expectPageHeaders(head);
  });

  test("/ and /index.html are the same page; nothing the page loads, and no other path, is HTML without them", async () => {
    const page: string = (await call(s.url, "GET", "/")).body;
    expect((await call(s.url, "GET", "/index.html")).body).toBe(page);
    const linked = [...page.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]!);
    expect(linked.length).toBeGreaterThan(0);
    // Assets are no API (the OpenAPI document does not list them): plain fetch here.
    const others = ["/index.htm", "/web/index.html", "/favicon.ico", "/v1", "/_bundle", "/index.html/x"];
    for (const path of [...linked, ...others]) {
      const res = await fetch(s.url + path);
      await res.arrayBuffer();
      if (res.headers.get("content-type")?.startsWith("text/html")) expectPageHeaders(res);
    }
    for (const path of linked) {
      expect((await fetch(s.url + path)).headers.get("content-type")).toMatch(/^text\/(javascript|css)/);
    }
  });
});
