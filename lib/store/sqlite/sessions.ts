// Sessions on SQLite, stored by the SHA-256 of their token; listed and ended by their public id.
import type { Database } from "bun:sqlite";
import { SESSION_LIST_LIMIT } from "../accounts.ts";
import type { Session, SessionRow, Store } from "../store.ts";

type Sessions = Pick<
  Store,
  "createSession" | "findSession" | "deleteSession" | "touchSession" | "purgeSessions" | "listSessions" | "endSession"
>;

export function createSessions(db: Database): Sessions {
  const insertSession = db.query<never, [Uint8Array, number, string, number, string | null, string | null]>(
    `INSERT INTO sessions (token_hash, user_id, public_id, created_at, last_used_at, user_agent, address)
     VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)`,
  );
  const markSeen = db.query<never, [number, number]>("UPDATE users SET last_seen_at = ? WHERE id = ?");
  const sessionByHash = db.query<Session, [Uint8Array]>(
    `SELECT s.user_id AS userId, u.login, s.created_at AS createdAt, s.last_used_at AS lastUsedAt
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND u.disabled = 0`,
  );
  const deleteSession = db.query<never, [Uint8Array]>("DELETE FROM sessions WHERE token_hash = ?");
  const touchSession = db.query<{ userId: number }, [number, Uint8Array]>(
    "UPDATE sessions SET last_used_at = ? WHERE token_hash = ? RETURNING user_id AS userId",
  );
  const purgeSessions = db.query<never, [number, number]>(
    "DELETE FROM sessions WHERE last_used_at < ? OR created_at < ?",
  );
  const userSessions = db.query<SessionRow, [number, number]>(
    `SELECT public_id AS publicId, token_hash AS tokenHash, created_at AS createdAt, last_used_at AS lastUsedAt,
       user_agent AS userAgent, address FROM sessions WHERE user_id = ? ORDER BY created_at DESC, public_id LIMIT ?`,
  );
  const endSession = db.query<{ tokenHash: Uint8Array }, [number, string]>(
    "DELETE FROM sessions WHERE user_id = ? AND public_id = ? RETURNING token_hash AS tokenHash",
  );
  const create = db.transaction((s: Parameters<Store["createSession"]>[0]) => {
    insertSession.run(s.tokenHash, s.userId, s.publicId, s.now, s.userAgent, s.address);
    markSeen.run(s.now, s.userId);
  });
  const touch = db.transaction((tokenHash: Uint8Array, now: number) => {
    const row = touchSession.get(now, tokenHash);
    if (row) markSeen.run(now, row.userId);
  });

  return {
    async createSession(session) {
      create.immediate(session);
    },
    async findSession(tokenHash) {
      return sessionByHash.get(tokenHash);
    },
    async deleteSession(tokenHash) {
      deleteSession.run(tokenHash);
    },
    async touchSession(tokenHash, now) {
      touch.immediate(tokenHash, now);
    },
    async purgeSessions(idleBefore, createdBefore) {
      return purgeSessions.run(idleBefore, createdBefore).changes;
    },
    async listSessions(userId) {
      return userSessions
        .all(userId, SESSION_LIST_LIMIT)
        .map((r) => ({ ...r, tokenHash: new Uint8Array(r.tokenHash) }));
    },
    async endSession(userId, publicId) {
      const row = endSession.get(userId, publicId);
      return row ? new Uint8Array(row.tokenHash) : null;
    },
  };
}
