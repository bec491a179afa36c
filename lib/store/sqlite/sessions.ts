// Sessions on SQLite, stored by the SHA-256 of their token.
import type { Database } from "bun:sqlite";
import type { Session, Store } from "../store.ts";

type Sessions = Pick<Store, "createSession" | "findSession" | "deleteSession" | "touchSession" | "purgeSessions">;

export function createSessions(db: Database): Sessions {
  const insertSession = db.query<never, [Uint8Array, number, number, number]>(
    "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
  );
  const sessionByHash = db.query<Session, [Uint8Array]>(
    `SELECT s.user_id AS userId, u.login, s.created_at AS createdAt, s.last_used_at AS lastUsedAt
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`,
  );
  const deleteSession = db.query<never, [Uint8Array]>("DELETE FROM sessions WHERE token_hash = ?");
  const touchSession = db.query<never, [number, Uint8Array]>(
    "UPDATE sessions SET last_used_at = ? WHERE token_hash = ?",
  );
  const purgeSessions = db.query<never, [number, number]>(
    "DELETE FROM sessions WHERE last_used_at < ? OR created_at < ?",
  );

  return {
    async createSession(tokenHash, userId, now) {
      insertSession.run(tokenHash, userId, now, now);
    },
    async findSession(tokenHash) {
      return sessionByHash.get(tokenHash);
    },
    async deleteSession(tokenHash) {
      deleteSession.run(tokenHash);
    },
    async touchSession(tokenHash, now) {
      touchSession.run(now, tokenHash);
    },
    async purgeSessions(idleBefore, createdBefore) {
      return purgeSessions.run(idleBefore, createdBefore).changes;
    },
  };
}
