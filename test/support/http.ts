// HTTP for tests: raw calls through the typed client's transport (client/transport.ts), and the few steps
// most tests start with. Every reply is checked against the OpenAPI document (contract.ts): an undocumented one throws.
import { expect } from "bun:test";
import { createTransport, type RequestOptions } from "../../client/index.ts";
import { checkedFetch } from "./contract.ts";

export type Reply<T = any> = { status: number; body: T; headers: Headers };

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: RequestOptions & { tls?: object } = {},
): Promise<Reply<T>> {
  const fetchWith = (
    opts.tls ? (url, init) => checkedFetch(url, { ...init, tls: opts.tls }) : checkedFetch
  ) as typeof fetch;
  return createTransport(base, fetchWith)<T>(method, path, opts);
}

export type Account = { id: number; login: string; session: string };

export async function register(base: string, login: string, password = "password123"): Promise<Account> {
  const r = await call(base, "POST", "/v1/register", { body: { login, password } });
  if (r.status !== 200) throw new Error(`register ${login}: ${r.status} ${JSON.stringify(r.body)}`);
  const info = await call(base, "GET", "/v1/info", { session: r.body.session_id });
  return { id: info.body.id, login, session: r.body.session_id };
}

// Several users at once, in the order given.
export function registerAll<const L extends readonly string[]>(base: string, logins: L) {
  return Promise.all(logins.map((l) => register(base, l))) as Promise<{ [K in keyof L]: Account }>;
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
