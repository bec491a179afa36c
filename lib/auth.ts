// Sessions and passwords. A session id is 20 random bytes as 40 lowercase hex characters;
// the database holds only its SHA-256.
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";
import type { Store } from "./store.ts";

export type Caller = { userId: number; login: string; tokenHash: Uint8Array };

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

export async function requireUser(store: Store, req: Request, url?: URL): Promise<Caller> {
  const token = sessionToken(req, url);
  if (token === null || !TOKEN.test(token)) throw new ApiError("unauthorized");
  const tokenHash = hashToken(token);
  const session = await store.findSession(tokenHash);
  if (!session) throw new ApiError("unauthorized");
  return { userId: session.userId, login: session.login, tokenHash };
}

export function hashPassword(config: Config, password: string): Promise<string> {
  // Async only: the sync variant would stall every socket for the whole hash.
  return Bun.password.hash(password, {
    algorithm: "argon2id",
    memoryCost: config.passwordMemoryKiB,
    timeCost: config.passwordTime,
  });
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return Bun.password.verify(password, hash);
}
