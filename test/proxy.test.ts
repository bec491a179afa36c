// deploy/nginx.conf and deploy/Caddyfile, the files docs/deploy.md installs, in front of a test server on
// loopback over HTTPS (nginx: a self-signed certificate made here with openssl; Caddy: its internal CA):
// a same-origin browser-style POST passes, a foreign Origin gets 403, and so does a foreign WebSocket
// upgrade while a same-origin one connects and chats.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./support/child.ts";
import { call } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { needs } from "./support/tools.ts";
import { every, waitFor } from "./support/waiting.ts";

const SBIN = `${process.env.PATH}:/usr/sbin:/usr/local/sbin`;
const NGINX = Bun.which("nginx", { PATH: SBIN });
const CADDY = Bun.which("caddy", { PATH: SBIN });
const OPENSSL = Bun.which("openssl", { PATH: SBIN });

const DEPLOY = join(import.meta.dir, "..", "deploy");
const shipped = (name: string) => Bun.file(join(DEPLOY, name)).text();

// Replaces `from` in a shipped config, insisting it is there: a test of the files must fail when they change.
function swap(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`the shipped config no longer has ${String(from)}`);
  return out;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

const insecure = { rejectUnauthorized: false }; // the certificates are made for this run only

type Proxy = { https: string; http: string; proc: Bun.Subprocess<"ignore", "ignore", "pipe">; log?: string };

// deploy/nginx.conf on loopback ports, with a certificate for 127.0.0.1.
async function startNginx(dir: string, upstream: number): Promise<Proxy> {
  const [https, http] = [await freePort(), await freePort()];
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const made = await run(
    [OPENSSL!],
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ]),
  );
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  let site = await shipped("nginx.conf");
  site = swap(site, /^\s*listen \[::\]:\d+.*\n/gm, "");
  site = swap(site, /listen 80;/, `listen 127.0.0.1:${http};`);
  site = swap(site, /listen 443 ssl http2;/, `listen 127.0.0.1:${https} ssl http2;`);
  site = swap(site, /ssl_certificate\s+\S+;/, `ssl_certificate ${cert};`);
  site = swap(site, /ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${key};`);
  site = swap(site, /http:\/\/127\.0\.0\.1:8080/g, `http://127.0.0.1:${upstream}`);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(dir, t)};`);
  const log = join(dir, "error.log");
  const conf = [
    process.getuid?.() === 0 ? "user root;" : "", // the workers must read this run's folder
    "daemon off;",
    `pid ${join(dir, "nginx.pid")};`,
    `error_log ${log} warn;`,
    "events { worker_connections 64; }",
    `http {\naccess_log off;\n${temp.join("\n")}\n${site}\n}`,
  ].join("\n");
  await Bun.write(join(dir, "nginx.conf"), conf);
  const proc = Bun.spawn([NGINX!, "-p", dir, "-e", log, "-c", join(dir, "nginx.conf")], {
    stdout: "ignore",
    stderr: "pipe",
  });
  return { https: `https://127.0.0.1:${https}`, http: `http://127.0.0.1:${http}`, proc, log };
}

// deploy/Caddyfile as it is, its site and upstream set through the environment as compose.yaml does, on
// loopback ports with Caddy's internal CA (nothing installed in the system's trust store, no admin
// endpoint, its data in this run's folder).
async function startCaddy(dir: string, upstream: number): Promise<Proxy> {
  const [https, http] = [await freePort(), await freePort()];
  const global = `{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\thttp_port ${http}\n\thttps_port ${https}\n}\n`;
  await Bun.write(join(dir, "Caddyfile"), global + (await shipped("Caddyfile")));
  const env = {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CONFIG_HOME: join(dir, "config"),
    ECHAT_SITE: `https://127.0.0.1:${https}`,
    ECHAT_UPSTREAMS: `127.0.0.1:${upstream}`,
  };
  const proc = Bun.spawn([CADDY!, "run", "--adapter", "caddyfile", "--config", join(dir, "Caddyfile")], {
    stdout: "ignore",
    stderr: "pipe",
    env,
  });
  return { https: `https://127.0.0.1:${https}`, http: `http://127.0.0.1:${http}`, proc };
}

async function stopProxy(proxy: Proxy): Promise<string> {
  proxy.proc.kill("SIGTERM");
  await proxy.proc.exited;
  const log = proxy.log
    ? await Bun.file(proxy.log)
        .text()
        .catch(() => "")
    : "";
  return (await new Response(proxy.proc.stderr).text()) + log;
}

// Up when /healthz answers through it (a port that is not open yet has no event to await: polled).
async function ready(proxy: Proxy) {
  await waitFor(
    async () => {
      if (proxy.proc.exitCode !== null) throw new Error("the proxy exited");
      const r = await fetch(`${proxy.https}/healthz`, { tls: insecure }).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    },
    15000,
    every(50),
    () => `the proxy at ${proxy.https} did not come up`,
  );
}

async function post(base: string, path: string, body: unknown, headers: Record<string, string>) {
  return call(base, "POST", path, {
    // What a page's fetch() or form sends without a preflight.
    headers: { "content-type": "text/plain;charset=UTF-8", ...headers },
    raw: JSON.stringify(body),
    tls: insecure,
  });
}

// A WebSocket through the proxy with a given Origin: the first frame after a message, or the refusal.
function chat(url: string, origin: string): Promise<{ opened: boolean; ack?: any }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { origin }, tls: insecure } as any);
    ws.onopen = () => ws.send(JSON.stringify({ text: "through the proxy", client_id: "p1" }));
    ws.onmessage = (e) => {
      resolve({ opened: true, ack: JSON.parse(String(e.data)) });
      ws.close();
    };
    ws.onerror = () => resolve({ opened: false });
  });
}

// metrics: what GET /metrics from this machine gets (nginx allows loopback, Caddy refuses everyone).
const PROXIES = [
  {
    name: "nginx",
    start: startNginx,
    available: NGINX !== null && OPENSSL !== null,
    tool: "nginx and openssl",
    metrics: 200,
  },
  { name: "Caddy", start: startCaddy, available: CADDY !== null, tool: "caddy", metrics: 403 },
];

for (const p of PROXIES) {
  describe.skipIf(!needs(p.tool, p.available))(`behind ${p.name} with the config deploy/ ships (HTTPS)`, () => {
    const dir = mkdtempSync(join(tmpdir(), `echat-${p.name}-`));
    let s: TestServer;
    let proxy: Proxy;

    beforeAll(async () => {
      s = await startServer({ config: { trustProxy: true } }); // as deploy/echat.service sets it
      mkdirSync(join(dir, "proxy"));
      proxy = await p.start(join(dir, "proxy"), s.port);
      await ready(proxy).catch(async (e) => {
        throw new Error(`${e.message}; its output:\n${await stopProxy(proxy)}`);
      });
    });

    afterAll(async () => {
      if (proxy && proxy.proc.exitCode === null) await stopProxy(proxy);
      await s?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test("a same-origin browser-style POST passes; a foreign Origin gets 403 forbidden_origin", async () => {
      const own = { origin: proxy.https };
      const registered = await post(proxy.https, "/v1/register", { login: "alice", password: "password123" }, own);
      expect(registered.status).toBe(200);
      expect(registered.body.session_id).toMatch(/^[0-9a-f]{40}$/);
      const login = { login: "alice", password: "password123" };
      expect((await post(proxy.https, "/v1/login", login, own)).status).toBe(200);
      expect((await post(proxy.https, "/v1/login", login, {})).status).toBe(200); // no Origin: not a browser
      for (const origin of ["https://evil.example", proxy.http, "null"]) {
        const refused = await post(proxy.https, "/v1/login", login, { origin });
        expect({ origin, status: refused.status, code: refused.body.error?.code }).toEqual({
          origin,
          status: 403,
          code: "forbidden_origin",
        });
      }
    });

    test("a same-origin WebSocket connects and chats through it; a foreign one is refused", async () => {
      const own = { origin: proxy.https };
      const alice = (await post(proxy.https, "/v1/login", { login: "alice", password: "password123" }, own)).body;
      const room = (
        await call(proxy.https, "POST", "/v1/rooms", {
          headers: own,
          session: alice.session_id,
          body: { users: [] },
          tls: insecure,
        })
      ).body;
      const url = `${proxy.https.replace("https", "wss")}/v1/rooms/${room.id}/chat?session_id=${alice.session_id}`;
      const ok = await chat(url, proxy.https);
      expect(ok.opened).toBe(true);
      expect(ok.ack).toMatchObject({ text: "through the proxy", client_id: "p1", room_id: room.id });
      expect(await chat(url, "https://evil.example")).toEqual({ opened: false });
      // The refusal is echat's, before the upgrade.
      const refused = await call(proxy.https, "GET", url.replace(/^wss:\/\/[^/]+/, ""), {
        headers: {
          origin: "https://evil.example",
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
        tls: insecure,
      });
      expect({ status: refused.status, body: refused.body }).toMatchObject({
        status: 403,
        body: { error: { code: "forbidden_origin" } },
      });
    });

    test("a 3 MB upload passes (the body limit follows --max-file-size); /metrics is kept from the internet", async () => {
      const own = { origin: proxy.https };
      const alice = (await post(proxy.https, "/v1/login", { login: "alice", password: "password123" }, own)).body;
      const room = await call(proxy.https, "POST", "/v1/rooms", {
        headers: own,
        session: alice.session_id,
        body: { users: [] },
        tls: insecure,
      });
      const bytes = new Uint8Array(3 * 1024 * 1024).fill(7);
      const r = await fetch(`${proxy.https}/v1/rooms/${room.body.id}/files?name=big.bin`, {
        method: "POST",
        headers: { ...own, authorization: `Bearer ${alice.session_id}`, "content-type": "application/octet-stream" },
        body: bytes,
        tls: insecure,
      });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { size: number }).size).toBe(bytes.length);
      expect((await fetch(`${proxy.https}/metrics`, { tls: insecure })).status).toBe(p.metrics);
    });
  });
}
