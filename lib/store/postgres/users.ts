// Users on PostgreSQL: lookup, search, the CLI's list, password changes (registration: accounts.ts).
import type { SQL } from "bun";
import type { Store, User } from "../store.ts";
import { LEGACY_END, pickLogin, prefixEnd, storedFold } from "../../validate.ts";
import { type Row, user } from "./rows.ts";

type Users = Pick<Store, "findUserByLogin" | "findUsersByIds" | "searchUsers" | "listUsers" | "changePassword">;

// Above this many trigram candidates a search walks the logins in order instead of sorting the matches.
const SORT_AT_MOST = 1000;

export function createUsers(sql: SQL): Users {
  return {
    async findUserByLogin(folded, typed) {
      if (folded.includes("\0")) return null; // no login holds U+0000 (validLogin), and PostgreSQL text cannot
      // The fold's own account and old accounts kept apart under it (validate.ts storedFold).
      // [fold, fold + U+0002) by code point: the fold itself and fold + U+0001 + id, by users_folded_order.
      const rows = await sql`SELECT id, login, login_folded AS folded, password_hash, disabled FROM users
        WHERE login_folded COLLATE "C" >= ${folded} AND login_folded COLLATE "C" < ${folded + LEGACY_END}`;
      const row = pickLogin(
        rows as Row[] as { login: string; folded: string }[],
        folded,
        typed ?? folded,
      ) as Row | null;
      return row ? { ...user(row), passwordHash: row.password_hash, disabled: row.disabled } : null;
    },
    async findUsersByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await sql`SELECT id, login FROM users WHERE id = ANY(${ids}::bigint[]) AND deleted_at IS NULL`;
      const byId = new Map(rows.map((r: Row) => [Number(r.id), user(r)]));
      return ids.map((id) => byId.get(id)).filter((u): u is User => u !== undefined);
    },
    searchUsers: (folded, limit) => searchUsers(sql, folded, limit),
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

// The same plan and order as SQLite's (sqlite/users.ts): the exact match and prefixes from the code-point
// index (users_folded_order), the other matches from the pg_trgm index (users_folded_trgm), sorted when
// few, else by walking the code-point index. COLLATE "C" orders by code point, as SQLite does. Deleted
// accounts are never a prefix match (their folds start with a control character) and skipped otherwise.
async function searchUsers(sql: SQL, q: string, limit: number): Promise<User[]> {
  if (q.includes("\0")) return [];
  const end = prefixEnd(q);
  const first = await sql`SELECT id, login FROM users WHERE login_folded COLLATE "C" >= ${q}
    ${end === null ? sql`AND starts_with(login_folded, ${q})` : sql`AND login_folded COLLATE "C" < ${end}`}
    ORDER BY login_folded COLLATE "C" LIMIT ${limit}`;
  if (first.length === limit || [...q].length < 3) return first.map(user);
  const pattern = `%${q.replace(/[\\%_]/g, "\\$&")}%`;
  const [{ n }] = await sql`SELECT count(*) AS n FROM
    (SELECT 1 FROM users WHERE login_folded LIKE ${pattern} LIMIT ${SORT_AT_MOST + 1}) m`;
  const rest =
    Number(n) <= SORT_AT_MOST
      ? await sql`SELECT id, login FROM users WHERE login_folded LIKE ${pattern} AND strpos(login_folded, ${q}) > 1
          AND deleted_at IS NULL ORDER BY login_folded COLLATE "C" LIMIT ${limit - first.length}`
      : await sql`SELECT id, login FROM users WHERE strpos(login_folded, ${q}) > 1 AND deleted_at IS NULL
          ORDER BY login_folded COLLATE "C" LIMIT ${limit - first.length}`;
  return [...first, ...rest].map(user);
}

// Schema 3, as sqlite/users.ts refoldUsers: the new folds in id order, in batches; idempotent.
export async function refoldUsers(tx: SQL, batch = 1000) {
  await tx`UPDATE users SET login_folded = chr(1) || id`; // out of the way of the new folds
  const taken = new Set<string>();
  for (let last = 0; ; ) {
    const rows = await tx`SELECT id, login FROM users WHERE id > ${last} ORDER BY id LIMIT ${batch}`;
    if (rows.length === 0) return;
    const ids = rows.map((r: Row) => Number(r.id));
    const folds = rows.map((r: Row) => storedFold(Number(r.id), r.login, taken));
    await tx`UPDATE users SET login_folded = v.folded
      FROM (SELECT unnest(${ids}::bigint[]) AS id, unnest(${folds}::text[]) AS folded) v WHERE users.id = v.id`;
    last = ids.at(-1)!;
  }
}
