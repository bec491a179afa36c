// Accounts on PostgreSQL: registration, lookup, search, the CLI's list, password changes.
import type { SQL } from "bun";
import type { Store, User } from "../store.ts";
import { type Row, user } from "./rows.ts";

type Users = Pick<
  Store,
  "createUser" | "findUserByLogin" | "findUsersByIds" | "searchUsers" | "listUsers" | "changePassword"
>;

export function createUsers(sql: SQL): Users {
  return {
    async createUser(login, folded, passwordHash, now) {
      const [row] = await sql`INSERT INTO users (login, login_folded, password_hash, created_at)
        VALUES (${login}, ${folded}, ${passwordHash}, ${now}) ON CONFLICT (login_folded) DO NOTHING RETURNING id, login`;
      return row ? user(row) : null;
    },
    async findUserByLogin(folded) {
      if (folded.includes("\0")) return null; // no login holds U+0000 (validLogin), and PostgreSQL text cannot
      const [row] = await sql`SELECT id, login, password_hash FROM users WHERE login_folded = ${folded}`;
      return row ? { ...user(row), passwordHash: row.password_hash } : null;
    },
    async findUsersByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await sql`SELECT id, login FROM users WHERE id = ANY(${ids}::bigint[])`;
      const byId = new Map(rows.map((r: Row) => [Number(r.id), user(r)]));
      return ids.map((id) => byId.get(id)).filter((u): u is User => u !== undefined);
    },
    async searchUsers(folded, limit) {
      if (folded.includes("\0")) return [];
      // strpos, not LIKE: % and _ are literal. COLLATE "C" orders by code point, as SQLite does.
      const rows = await sql`SELECT id, login FROM users WHERE strpos(login_folded, ${folded}) > 0
        ORDER BY login_folded = ${folded} DESC, starts_with(login_folded, ${folded}) DESC, login_folded COLLATE "C", id
        LIMIT ${limit}`;
      return rows.map(user);
    },
    async listUsers() {
      const rows = await sql`SELECT id, login, created_at FROM users ORDER BY id`;
      return rows.map((r: Row) => ({ ...user(r), createdAt: Number(r.created_at) }));
    },
    async changePassword(userId, passwordHash, keep) {
      await sql.begin(async (tx) => {
        await tx`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${userId}`;
        if (keep === null) await tx`DELETE FROM sessions WHERE user_id = ${userId}`;
        else await tx`DELETE FROM sessions WHERE user_id = ${userId} AND token_hash <> ${keep}`;
      });
    },
  };
}
