// Accounts on SQLite: registration, lookup, search, the CLI's list, password changes.
import type { Database } from "bun:sqlite";
import type { Store, User, UserRow, UserWithHash } from "../store.ts";

type Users = Pick<
  Store,
  "createUser" | "findUserByLogin" | "findUsersByIds" | "searchUsers" | "listUsers" | "changePassword"
>;

export function createUsers(db: Database): Users {
  const insertUser = db.query<User, [string, string, string, number]>(
    `INSERT INTO users (login, login_folded, password_hash, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (login_folded) DO NOTHING RETURNING id, login`,
  );
  const userByLogin = db.query<UserWithHash, [string]>(
    "SELECT id, login, password_hash AS passwordHash FROM users WHERE login_folded = ?",
  );
  const userById = db.query<User, [number]>("SELECT id, login FROM users WHERE id = ?");
  const allUsers = db.query<UserRow, []>("SELECT id, login, created_at AS createdAt FROM users ORDER BY id");
  // instr(), not LIKE: % and _ in the query are literal.
  const searchUsers = db.query<User, [string, string, string, number]>(
    `SELECT id, login FROM users WHERE instr(login_folded, ?1) > 0
     ORDER BY login_folded = ?2 DESC, substr(login_folded, 1, length(?3)) = ?3 DESC, login_folded, id LIMIT ?4`,
  );
  const setPassword = db.query<never, [string, number]>("UPDATE users SET password_hash = ? WHERE id = ?");
  const deleteOtherSessions = db.query<never, [number, Uint8Array | null]>(
    "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash != ?2)",
  );
  const changePassword = db.transaction((userId: number, passwordHash: string, keep: Uint8Array | null) => {
    setPassword.run(passwordHash, userId);
    deleteOtherSessions.run(userId, keep);
  });

  return {
    async createUser(login, folded, passwordHash, now) {
      return insertUser.get(login, folded, passwordHash, now);
    },
    async findUserByLogin(folded) {
      return userByLogin.get(folded);
    },
    async findUsersByIds(ids) {
      return ids.map((id) => userById.get(id)).filter((u): u is User => u !== null);
    },
    async searchUsers(folded, limit) {
      return searchUsers.all(folded, folded, folded, limit);
    },
    async listUsers() {
      return allUsers.all();
    },
    async changePassword(userId, passwordHash, keep) {
      changePassword.immediate(userId, passwordHash, keep);
    },
  };
}
