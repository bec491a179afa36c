// The public REST API, called exactly as a third-party client would call it.
export type User = { id: number; login: string };
export type Message = {
  id: number;
  text: string;
  user_id: number;
  room_id: number;
  created_at: string;
  client_id?: string;
};
export type Room = { id: number; users: User[] };
export type RoomSummary = Room & { last_message: Message | null; unread: number };
export type Me = User & { admin: boolean };
export type Session = {
  id: string;
  created_at: string;
  last_used_at: string | null;
  user_agent: string | null;
  address: string | null;
  current: boolean;
};
export type Invite = { code: string; url: string; uses_left: number; expires_at: string };
export type AdminUser = User & {
  admin: boolean;
  disabled: boolean;
  created_at: string;
  last_seen_at: string | null;
};

const KEY = "echat.session";
export const session = {
  get: () => localStorage.getItem(KEY),
  set: (id: string) => localStorage.setItem(KEY, id),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Any 401 means the session is gone (logged out elsewhere, expired): the app goes back to the login form.
export const LOGGED_OUT = "echat:logged-out";

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await call<T>(method, path, body)).data;
}

// Every page of a paged list (GET /v1/rooms), following each answer's Link rel="next".
export async function apiAllPages<T>(path: string): Promise<T[]> {
  const all: T[] = [];
  for (let next: string | null = path; next; ) {
    const page: { data: T[]; res: Response } = await call<T[]>("GET", next);
    all.push(...page.data);
    next = /<([^>]+)>;\s*rel="next"/.exec(page.res.headers.get("link") ?? "")?.[1] ?? null;
  }
  return all;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<{ data: T; res: Response }> {
  const headers: Record<string, string> = {};
  const id = session.get();
  if (id) headers["x-session-id"] = id;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError("network", "Cannot reach the server. Check the connection and try again.");
  }
  const data = await res.json().catch(() => null);
  if (res.ok) return { data: data as T, res };
  if (res.status === 401 && id) dispatchEvent(new Event(LOGGED_OUT));
  const e = data?.error;
  throw new ApiError(e?.code ?? "http", e?.message ?? `The server answered ${res.status}.`);
}

// A UUIDv7: time-ordered, so the server's client_id index takes appends instead of random
// inserts (about twice the insert rate of random UUIDs: docs/performance.md).
export function newClientId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = Date.now();
  for (let i = 5; i >= 0; i--, t = Math.floor(t / 256)) b[i] = t % 256;
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
