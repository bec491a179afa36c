// Shared by every test file: a real server on an ephemeral port with a fresh temporary database,
// a small typed HTTP client, and WebSocket helpers that await events instead of sleeping.
import { expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, configFor } from "../lib/config.ts";
import { startServer as start, type Running } from "../server.ts";

export type TestServer = Running & { dir: string; db: string; restart: () => Promise<TestServer>; clock: Clock };
export type Clock = { now: () => number; advance: (ms: number) => void };

// Cheap argon2 so a suite can register hundreds of users; production defaults stay safe.
export const TEST_CONFIG: Partial<Config> = {
  port: 0,
  host: "127.0.0.1",
  logLevel: "silent",
  passwordMemoryKiB: 64,
  passwordTime: 1,
};

export async function startServer(overrides: Partial<Config> = {}, dir?: string): Promise<TestServer> {
  const folder = dir ?? mkdtempSync(join(tmpdir(), "echat-test-"));
  const db = join(folder, "echat.db");
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
  const running = await start(configFor({ ...TEST_CONFIG, db, ...overrides }), { now: clock.now });
  const server: TestServer = {
    ...running,
    dir: folder,
    db,
    clock,
    async stop() {
      await running.stop();
      if (!dir) rmSync(folder, { recursive: true, force: true });
    },
    async restart() {
      await running.stop();
      return startServer(overrides, folder);
    },
  };
  return server;
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
  const r = await call(base, "POST", "/v1/rooms", { session: owner.session, body: { users: others.map((u) => ({ id: u.id })) } });
  if (r.status !== 200) throw new Error(`create room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

export function expectError(r: Reply, status: number, code: string) {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
  expect(typeof r.body.error.message).toBe("string");
  expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
}
