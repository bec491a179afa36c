// Users on SQLite: lookup, search, the CLI's list, password changes (registration: accounts.ts).
import type { Database } from "bun:sqlite";
import type { Store, User, UserRow, UserWithHash } from "../store.ts";
import { LEGACY_END, pickLogin, prefixEnd, storedFold } from "../../validate.ts";

type Users = Pick<Store, "findUserByLogin" | "findUsersByIds" | "searchUsers" | "listUsers" | "changePassword">;

// Above this many trigram matches a search walks the logins in order instead of sorting the matches.
const SORT_AT_MOST = 1000;

export function createUsers(db: Database): Users {
  // The fold's own account and old accounts kept apart under it (validate.ts storedFold).
  // [fold, fold + U+0002): the fold itself and fold + U+0001 + id, by the unique index.
  const usersByFold = db.query<Omit<UserWithHash, "disabled"> & { folded: string; disabled: number }, [string, string]>(
    `SELECT id, login, login_folded AS folded, password_hash AS passwordHash, disabled FROM users
     WHERE login_folded >= ?1 AND login_folded < ?2`,
  );
  const userById = db.query<User, [number]>("SELECT id, login FROM users WHERE id = ? AND deleted_at IS NULL");
  const allUsers = db.query<UserRow, []>("SELECT id, login, created_at AS createdAt FROM users ORDER BY id");
  const setPassword = db.query<never, [string, number]>("UPDATE users SET password_hash = ? WHERE id = ?");
  const deleteOtherSessions = db.query<never, [number, Uint8Array | null]>(
    "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash != ?2)",
  );
  const changePassword = db.transaction((userId: number, passwordHash: string, keep: Uint8Array | null) => {
    setPassword.run(passwordHash, userId);
    deleteOtherSessions.run(userId, keep);
  });
  const search = searchStatements(db);

  return {
    async findUserByLogin(folded, typed) {
      const rows = usersByFold.all(folded, folded + LEGACY_END);
      const row = pickLogin(rows, folded, typed ?? folded);
      return row && { id: row.id, login: row.login, passwordHash: row.passwordHash, disabled: row.disabled === 1 };
    },
    async findUsersByIds(ids) {
      return ids.map((id) => userById.get(id)).filter((u): u is User => u !== null);
    },
    searchUsers: async (folded, limit) => search(folded, limit),
    async listUsers() {
      return allUsers.all();
    },
    async changePassword(userId, passwordHash, keep) {
      changePassword.immediate(userId, passwordHash, keep);
    },
  };
}

// Substring search in the order of docs/api.md (the exact match, logins starting with q, the rest; each
// by code point): the exact match and prefixes come in order from the unique index; the other matches
// from the trigram index (users_search), sorted when there are few, else by walking the unique index in
// order, which then finds them densely. Queries under 3 characters have no trigram: exact and prefix only.
// Deleted accounts' folds start with a control character: never a prefix match, and skipped below.
function searchStatements(db: Database) {
  const prefixed = db.query<User, [string, string, number]>(
    `SELECT id, login FROM users WHERE login_folded >= ?1 AND login_folded < ?2 ORDER BY login_folded LIMIT ?3`,
  );
  const prefixedUnbounded = db.query<User, [string, number]>(
    `SELECT id, login FROM users WHERE substr(login_folded, 1, length(?1)) = ?1 ORDER BY login_folded LIMIT ?2`,
  );
  const trigramCount = db.query<{ n: number }, [string, number]>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM users_search WHERE users_search MATCH ?1 LIMIT ?2)`,
  );
  // instr > 1: contains q, but not at the start (those came first).
  const sortMatches = db.query<User, [string, string, number]>(
    `SELECT id, login FROM users WHERE id IN (SELECT rowid FROM users_search WHERE users_search MATCH ?1)
     AND instr(login_folded, ?2) > 1 AND deleted_at IS NULL ORDER BY login_folded LIMIT ?3`,
  );
  const walkInOrder = db.query<User, [string, number]>(
    `SELECT id, login FROM users INDEXED BY sqlite_autoindex_users_1 WHERE instr(login_folded, ?1) > 1
     AND deleted_at IS NULL ORDER BY login_folded LIMIT ?2`,
  );
  return (q: string, limit: number): User[] => {
    const end = prefixEnd(q);
    const first = end === null ? prefixedUnbounded.all(q, limit) : prefixed.all(q, end, limit);
    if (first.length === limit || [...q].length < 3) return first;
    const phrase = `"${q.replaceAll('"', '""')}"`;
    const few = trigramCount.get(phrase, SORT_AT_MOST + 1)!.n <= SORT_AT_MOST;
    const rest = limit - first.length;
    return first.concat(few ? sortMatches.all(phrase, q, rest) : walkInOrder.all(q, rest));
  };
}

// Schema 3: every stored fold becomes the new fold (validate.ts foldLogin), in id order, in batches; an
// old account the new fold merges with an older one keeps a fold of its own (storedFold). Idempotent.
export function refoldUsers(db: Database, batch = 1000) {
  db.run("UPDATE users SET login_folded = char(1) || id"); // out of the way of the new folds
  const page = db.query<{ id: number; login: string }, [number, number]>(
    "SELECT id, login FROM users WHERE id > ? ORDER BY id LIMIT ?",
  );
  const setFold = db.query<never, [string, number]>("UPDATE users SET login_folded = ? WHERE id = ?");
  const taken = new Set<string>();
  for (let last = 0; ; ) {
    const rows = page.all(last, batch);
    if (rows.length === 0) return;
    for (const r of rows) setFold.run(storedFold(r.id, r.login, taken), r.id);
    last = rows.at(-1)!.id;
  }
}
