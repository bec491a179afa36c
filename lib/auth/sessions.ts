// Sessions. A session id is 20 random bytes as 40 lowercase hex characters;
// the database holds only its SHA-256.
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Session, Store } from "../store/store.ts";

export type Caller = { userId: number; login: string; tokenHash: Uint8Array };
export type SessionDeps = {
  store: Store;
  config: Pick<Config, "sessionIdleDays" | "sessionMaxDays">;
  now: () => number;
};

const DAY_MS = 24 * 60 * 60 * 1000;
// Last use is written at most this often per session, so a request is not a write; idle expiry
// is therefore exact to within this much.
const TOUCH_EVERY_MS = 60 * 60 * 1000;

const TOKEN = /^[0-9a-f]{40}$/;

export function newSessionToken(): string {
  return crypto.getRandomValues(new Uint8Array(20)).toHex();
}

export function hashToken(token: string): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(token).digest();
}

// X-Session-Id, then Authorization: Bearer, then (for WebSockets, whose browsers cannot set headers) ?session_id=.
export function sessionToken(req: Request, url?: URL): string | null {
  const header = req.headers.get("x-session-id");
  if (header !== null) return header.trim();
  const auth = req.headers.get("authorization");
  if (auth !== null) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1]! : "";
  }
  return url?.searchParams.get("session_id") ?? null;
}

// The session is looked up by the SHA-256 of its id: an attacker timing the lookup learns about
// hashes of ids he chose, which tells him nothing about live ids.
export async function requireUser({ store, config, now }: SessionDeps, req: Request, url?: URL): Promise<Caller> {
  const token = sessionToken(req, url);
  if (token === null || !TOKEN.test(token)) throw new ApiError("unauthorized");
  const tokenHash = hashToken(token);
  const session = await store.findSession(tokenHash);
  if (!session) throw new ApiError("unauthorized");
  const t = now();
  if (sessionExpired(config, session, t)) {
    await store.deleteSession(tokenHash);
    throw new ApiError("unauthorized");
  }
  if (t - session.lastUsedAt >= TOUCH_EVERY_MS) await store.touchSession(tokenHash, t);
  return { userId: session.userId, login: session.login, tokenHash };
}

// An enabled admin, read from the store each time (not the session cache): a demotion on another
// instance counts at once.
export async function requireAdmin(deps: SessionDeps, req: Request): Promise<Caller> {
  const caller = await requireUser(deps, req);
  const account = await deps.store.findAccount(caller.userId);
  if (!account?.admin || account.disabled) throw new ApiError("forbidden");
  return caller;
}

export function sessionExpired(config: SessionDeps["config"], s: Pick<Session, "createdAt" | "lastUsedAt">, t: number) {
  return t - s.lastUsedAt > config.sessionIdleDays * DAY_MS || t - s.createdAt > config.sessionMaxDays * DAY_MS;
}

// The hub's periodic check: purges expired sessions, then for each session with open sockets
// either ends it (deleted by another process, or expired: `end` closes its sockets) or, since an
// open socket is use, records that use.
export async function checkSessions(deps: SessionDeps & { log: Logger }, open: string[], end: (hex: string) => void) {
  const { store, config, log } = deps;
  const t = deps.now();
  const purged = await store.purgeSessions(t - config.sessionIdleDays * DAY_MS, t - config.sessionMaxDays * DAY_MS);
  if (purged) log.info("expired sessions purged", { count: purged });
  let ended = 0;
  for (const hex of open) {
    const hash = Uint8Array.fromHex(hex);
    const session = await store.findSession(hash);
    if (!session || sessionExpired(config, session, t)) {
      ended++;
      end(hex);
    } else if (t - session.lastUsedAt >= TOUCH_EVERY_MS) {
      await store.touchSession(hash, t);
    }
  }
  log.debug("sessions checked", { open: open.length, ended });
}
