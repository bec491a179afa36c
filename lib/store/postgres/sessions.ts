// Sessions on PostgreSQL, stored by the SHA-256 of their token; listed and ended by their public id.
import type { SQL } from "bun";
import { SESSION_LIST_LIMIT } from "../accounts.ts";
import type { Session, Store } from "../store.ts";
import type { Row } from "./rows.ts";

type Sessions = Pick<
  Store,
  "createSession" | "findSession" | "deleteSession" | "touchSession" | "purgeSessions" | "listSessions" | "endSession"
>;

export function createSessions(sql: SQL): Sessions {
  return {
    async createSession({ tokenHash, publicId, userId, now, userAgent, address }) {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO sessions (token_hash, user_id, public_id, created_at, last_used_at, user_agent, address)
          VALUES (${tokenHash}, ${userId}, ${publicId}, ${now}, ${now}, ${userAgent}, ${address})`;
        await tx`UPDATE users SET last_seen_at = ${now} WHERE id = ${userId}`;
      });
    },
    async findSession(tokenHash) {
      const [row] = await sql`SELECT s.user_id, u.login, s.created_at, s.last_used_at
        FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${tokenHash} AND NOT u.disabled`;
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
      await sql`WITH s AS (UPDATE sessions SET last_used_at = ${now} WHERE token_hash = ${tokenHash} RETURNING user_id)
        UPDATE users SET last_seen_at = ${now} FROM s WHERE users.id = s.user_id`;
    },
    async purgeSessions(idleBefore, createdBefore) {
      const rows =
        await sql`DELETE FROM sessions WHERE last_used_at < ${idleBefore} OR created_at < ${createdBefore} RETURNING 1`;
      return rows.length;
    },
    async listSessions(userId) {
      const rows = await sql`SELECT public_id, token_hash, created_at, last_used_at, user_agent, address
        FROM sessions WHERE user_id = ${userId} ORDER BY created_at DESC, public_id LIMIT ${SESSION_LIST_LIMIT}`;
      return rows.map((r: Row) => ({
        publicId: r.public_id,
        tokenHash: new Uint8Array(r.token_hash),
        createdAt: Number(r.created_at),
        lastUsedAt: Number(r.last_used_at),
        userAgent: r.user_agent,
        address: r.address,
      }));
    },
    async endSession(userId, publicId) {
      const [row] = await sql`DELETE FROM sessions WHERE user_id = ${userId} AND public_id = ${publicId}
        RETURNING token_hash`;
      return row ? new Uint8Array(row.token_hash) : null;
    },
  };
}
