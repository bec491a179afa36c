// Sessions on PostgreSQL, stored by the SHA-256 of their token.
import type { SQL } from "bun";
import type { Session, Store } from "../store.ts";

type Sessions = Pick<Store, "createSession" | "findSession" | "deleteSession" | "touchSession" | "purgeSessions">;

export function createSessions(sql: SQL): Sessions {
  return {
    async createSession(tokenHash, userId, now) {
      await sql`INSERT INTO sessions (token_hash, user_id, created_at, last_used_at)
        VALUES (${tokenHash}, ${userId}, ${now}, ${now})`;
    },
    async findSession(tokenHash) {
      const [row] = await sql`SELECT s.user_id, u.login, s.created_at, s.last_used_at
        FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${tokenHash}`;
      if (!row) return null;
      return {
        userId: Number(row.user_id),
        login: row.login,
        createdAt: Number(row.created_at),
        lastUsedAt: Number(row.last_used_at),
      } satisfies Session;
    },
    async deleteSession(tokenHash) {
      await sql`DELETE FROM sessions WHERE token_hash = ${tokenHash}`;
    },
    async touchSession(tokenHash, now) {
      await sql`UPDATE sessions SET last_used_at = ${now} WHERE token_hash = ${tokenHash}`;
    },
    async purgeSessions(idleBefore, createdBefore) {
      const rows =
        await sql`DELETE FROM sessions WHERE last_used_at < ${idleBefore} OR created_at < ${createdBefore} RETURNING 1`;
      return rows.length;
    },
  };
}
