// Shared by every test file: a real server on an ephemeral port with a fresh temporary database,
// a small typed HTTP client, and WebSocket helpers that await events instead of sleeping.
import { expect } from "bun:test";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, configFor } from "../lib/config.ts";
import type { Store } from "../lib/store/store.ts";
import { startServer as start, type Running } from "../server.ts";

// databaseUrl: the PostgreSQL database under ECHAT_TEST_STORE=postgres, else "" (db is the SQLite file).
export type TestServer = Running & {
  dir: string;
  db: string;
  databaseUrl: string;
  restart: () => Promise<TestServer>;
  clock: Clock;
};
// freeze(): time moves only by advance(), so a test of rates does not depend on the machine's speed.
export type Clock = { now: () => number; advance: (ms: number) => void; freeze: () => void };

// Cheap argon2 so a suite can register hundreds of users; production defaults stay safe.
// Abuse limits are off here (a suite registers more than 30 users a minute from 127.0.0.1);
// test/limits.test.ts and test/sessions.test.ts turn them on.
export const TEST_CONFIG: Partial<Config> = {
  port: 0,
  host: "127.0.0.1",
  logLevel: "silent",
  passwordMemoryKiB: 64,
  passwordTime: 1,
  limits: false,
};

// ECHAT_TEST_STORE=postgres runs every server on a fresh PostgreSQL database (made from
// ECHAT_TEST_DATABASE_URL, dropped at stop), so the same test files cover both stores.
export const STORE = process.env.ECHAT_TEST_STORE === "postgres" ? "postgres" : "sqlite";
export const TEST_DATABASE_URL = process.env.ECHAT_TEST_DATABASE_URL ?? "";
export const TEST_REDIS_URL = process.env.ECHAT_TEST_REDIS_URL ?? "";

// wrapStore: a test's failing store; log: receives every log line (set logLevel in overrides to see any).
export async function startServer(
  overrides: Partial<Config> = {},
  dir?: string,
  wrapStore?: (s: Store) => Store,
  log?: (line: string) => void,
): Promise<TestServer> {
  const folder = dir ?? mkdtempSync(join(tmpdir(), "echat-test-"));
  const db = join(folder, "echat.db");
  let offset = 0;
  let frozen: number | null = null;
  const clock: Clock = {
    now: () => (frozen ?? Date.now()) + offset,
    advance: (ms) => void (offset += ms),
    freeze: () => void (frozen ??= Date.now()),
  };
  // A restart passes the same folder; with PostgreSQL it also keeps the same database.
  const databaseUrl = overrides.databaseUrl ?? (STORE === "postgres" ? await freshDatabase(folder) : "");
  const running = await start(configFor({ ...TEST_CONFIG, db, databaseUrl, ...overrides }), {
    now: clock.now,
    wrapStore,
    log,
  });
  // Only the server that made the folder (and database) removes them, also after restarts.
  const cleanup = async () => {
    if (dir) return;
    rmSync(folder, { recursive: true, force: true });
    if (STORE === "postgres" && !overrides.databaseUrl) await dropDatabase(databaseUrl);
  };
  const server: TestServer = {
    ...running,
    dir: folder,
    db,
    databaseUrl,
    clock,
    async stop() {
      await running.stop();
      await cleanup();
    },
    async restart() {
      await running.stop();
      const next = await startServer({ ...overrides, databaseUrl }, folder, wrapStore, log);
      const stopNext = next.stop;
      return Object.assign(next, { stop: async () => (await stopNext(), await cleanup()) });
    },
  };
  return server;
}

// A test that opens the SQLite file itself has nothing to open under PostgreSQL: it skips, saying why.
export function opensSqliteFile(what: string): boolean {
  if (STORE === "sqlite") return true;
  console.warn(`skipping under PostgreSQL: ${what} opens the SQLite file directly`);
  return false;
}

const databases = new Map<string, string>(); // test folder -> database URL
// Databases made by this test run and not dropped yet (a server started on a test's own folder keeps
// its database across stop and start): test/setup.ts drops them after the last file.
const undropped = new Set<string>();
export async function dropLeftoverDatabases() {
  for (const name of undropped) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  undropped.clear();
}

// An empty PostgreSQL database named for the test folder.
export async function freshDatabase(folder = mkdtempSync(join(tmpdir(), "echat-test-"))): Promise<string> {
  const known = databases.get(folder);
  if (known) return known;
  if (!TEST_DATABASE_URL) throw new Error("ECHAT_TEST_STORE=postgres needs ECHAT_TEST_DATABASE_URL");
  const name = `echat_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  undropped.add(name);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  databases.set(folder, url.href);
  return url.href;
}

export async function dropDatabase(databaseUrl: string) {
  const name = new URL(databaseUrl).pathname.slice(1);
  if (!/^echat_test_[0-9a-f]+$/.test(name)) return;
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  undropped.delete(name);
}

async function adminQuery(text: string) {
  const admin = new SQL({ url: TEST_DATABASE_URL, max: 1 });
  try {
    await admin.unsafe(text);
  } finally {
    await admin.close();
  }
}

export type Reply<T = any> = { status: number; body: T; headers: Headers };

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: BodyInit; session?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.session) headers["x-session-id"] = opts.session;
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export type Account = { id: number; login: string; session: string };

export async function register(base: string, login: string, password = "password123"): Promise<Account> {
  const r = await call(base, "POST", "/v1/register", { body: { login, password } });
  if (r.status !== 200) throw new Error(`register ${login}: ${r.status} ${JSON.stringify(r.body)}`);
  const info = await call(base, "GET", "/v1/info", { session: r.body.session_id });
  return { id: info.body.id, login, session: r.body.session_id };
}

export async function createRoom(base: string, owner: Account, others: Account[]): Promise<number> {
  const r = await call(base, "POST", "/v1/rooms", {
    session: owner.session,
    body: { users: others.map((u) => ({ id: u.id })) },
  });
  if (r.status !== 200) throw new Error(`create room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

export function expectError(r: Reply, status: number, code: string) {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
  expect(typeof r.body.error.message).toBe("string");
  expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
}

// A WebSocket client for tests: frames queue up in an inbox; next() takes the first one matching
// a predicate, waiting for it (never sleeping) up to a timeout.
export class Socket {
  readonly inbox: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.inbox.push(JSON.parse(String(e.data)));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }

  static open(url: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const s = new Socket(ws);
      ws.addEventListener("open", () => resolve(s), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect ${url}`)), { once: true });
    });
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async next(match: (f: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("socket closed while waiting for a frame");
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching frame within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  // The next n frames that match, in arrival order.
  async take(n: number, match: (f: any) => boolean = () => true, timeoutMs = 10000): Promise<any[]> {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(match, timeoutMs));
    return out;
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

export function chatUrl(s: { wsUrl: string }, room: number, who: Account, query: Record<string, string | number> = {}) {
  const q = new URLSearchParams({
    session_id: who.session,
    ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])),
  });
  return `${s.wsUrl}/v1/rooms/${room}/chat?${q}`;
}

export const isMessage = (f: any) => typeof f.id === "number" && typeof f.text === "string";

// Sends texts and waits for each ack (the sender's own copy), returning the stored messages.
export async function sendAll(sock: Socket, texts: string[]): Promise<any[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  texts.forEach((text, i) => sock.send({ text, client_id: `${tag}-${i}` }));
  const acks = [];
  for (let i = 0; i < texts.length; i++) acks.push(await sock.next((f) => f.client_id === `${tag}-${i}`));
  return acks;
}

// The upgrade request a browser would send, made with fetch so the refusal's status and body can be read.
export function upgradeRequest(url: string, headers: Record<string, string> = {}) {
  return call(url.replace(/^ws/, "http").replace(/\/v1.*$/, ""), "GET", url.replace(/^wss?:\/\/[^/]+/, ""), {
    headers: {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      ...headers,
    },
  });
}

// Tests that need an outside tool (Chromium, PostgreSQL, Redis) skip locally when it is missing,
// with a line saying so; under CI=true a skip would hide a broken setup, so it fails instead.
export function needs(tool: string, available: boolean): boolean {
  if (available) return true;
  if (process.env.CI === "true") throw new Error(`${tool} is required in CI but was not found`);
  console.warn(`skipping: ${tool} not found (install it, or run .ci/run)`);
  return false;
}

// Captures a server's log lines (pass `sink.write` as startServer's log) and awaits one by content.
export class LogSink {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  write = (line: string) => {
    this.lines.push(line);
    for (const w of this.waiters.splice(0)) w();
  };

  async next(match: (line: string) => boolean, from = 0, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching log line within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
