// Accounts and invites on SQLite: registration (plain and by invite), admins, disabling, deleting.
import type { Database } from "bun:sqlite";
import { deletedFold, deletedLogin, inviteUsable, leavesNoAdmin } from "../accounts.ts";
import type { Account, AccountChange, Changed, Invite, NewUser, Refused, Store, User } from "../store.ts";

type Accounts = Pick<
  Store,
  | "createUser"
  | "findAccount"
  | "listAccounts"
  | "updateAccount"
  | "deleteAccount"
  | "hasAdmin"
  | "createInvite"
  | "listInvites"
  | "revokeInvite"
  | "registerWithInvite"
>;

const ACCOUNT = `id, login, admin = 1 AS admin, disabled = 1 AS disabled, created_at AS createdAt,
  last_seen_at AS lastSeenAt`;
const INVITE = `public_id AS publicId, created_by AS createdBy, room_id AS roomId, uses_left AS usesLeft,
  expires_at AS expiresAt, created_at AS createdAt`;
type Row = Omit<Account, "admin" | "disabled"> & { admin: number; disabled: number };
const account = (r: Row | null): Account | null => r && { ...r, admin: r.admin === 1, disabled: r.disabled === 1 };

// change: a room change run by the message writer, in the room's order (room-changes.ts): the invite's
// room is joined there, once the new user is stored.
export function createAccounts(db: Database, change: (op: string, args: unknown[]) => Promise<unknown>): Accounts {
  const q = prepare(db);
  const enabledAdmins = () => q.enabledAdmins.get()!.n;
  const update = db.transaction((userId: number, change: AccountChange) => {
    const target = account(q.accountById.get(userId));
    if (!target) return "not_found" as const;
    if (leavesNoAdmin(target, change, enabledAdmins())) return "last_admin" as const;
    q.setFlags.run(userId, bit(change.admin), bit(change.disabled));
    if (change.disabled) q.deleteUserSessions.run(userId);
    if (change.admin && !target.disabled) q.deleteSetupInvites.run(); // an admin exists now
    return "ok" as const;
  });
  const remove = db.transaction((userId: number, now: number) => {
    const target = account(q.accountById.get(userId));
    if (!target) return "not_found" as const;
    if (leavesNoAdmin(target, null, enabledAdmins())) return "last_admin" as const;
    q.deleteUserSessions.run(userId);
    q.deleteUserInvites.run(userId);
    q.markDeleted.run(userId, deletedLogin(userId), deletedFold(userId), now);
    return "ok" as const;
  });
  const redeem = db.transaction((codeHash: Uint8Array, u: NewUser, now: number, setupOnly: boolean) => {
    const invite = q.inviteByHash.get(codeHash);
    const state = invite && { ...invite, admin: invite.admin === 1 };
    if (!state || !inviteUsable(state, now, enabledAdmins() > 0, setupOnly)) return "invalid" as const;
    const user = q.insertUser.get(u.login, u.folded, u.passwordHash, u.now, state.admin ? 1 : 0);
    if (!user) return "taken" as const;
    if (state.usesLeft > 1) q.takeUse.run(codeHash);
    else q.deleteInvite.run(codeHash);
    if (state.admin) q.deleteSetupInvites.run();
    return { user, roomId: state.roomId };
  });

  return {
    async createUser(login, folded, passwordHash, now, admin = false) {
      const user = q.insertUser.get(login, folded, passwordHash, now, admin ? 1 : 0);
      if (user && admin) q.deleteSetupInvites.run();
      return user;
    },
    findAccount: async (userId) => account(q.accountById.get(userId)),
    async listAccounts({ folded, limit, before }) {
      return q.accountPage.all(folded, before ?? Number.MAX_SAFE_INTEGER, limit).map((r) => account(r)!);
    },
    updateAccount: async (userId, change) => update.immediate(userId, change),
    deleteAccount: async (userId, now) => remove.immediate(userId, now),
    hasAdmin: async () => enabledAdmins() > 0,
    async createInvite(i) {
      q.purgeInvites.run(i.now);
      q.insertInvite.run(i.codeHash, i.publicId, i.createdBy, i.roomId, i.admin ? 1 : 0, i.uses, i.expiresAt, i.now);
    },
    listInvites: async (now) => q.liveInvites.all(now),
    revokeInvite: async (codeHash, publicId) => q.revokeInvite.run(codeHash, publicId).changes > 0,
    async registerWithInvite(codeHash, newUser, now, setupOnly, maxUsers) {
      const r = redeem.immediate(codeHash, newUser, now, setupOnly);
      if (typeof r === "string" || r.roomId === null) return typeof r === "string" ? r : { ...r, events: [] };
      const joined = (await change("inviteJoin", [r.roomId, r.user.id, now, maxUsers])) as Changed | Refused;
      return "refused" in joined ? { ...r, roomId: null, events: [] } : { ...r, events: joined.events };
    },
  };
}

const bit = (v: boolean | undefined) => (v === undefined ? null : v ? 1 : 0);

function prepare(db: Database) {
  return {
    insertUser: db.query<User, [string, string, string, number, number]>(
      `INSERT INTO users (login, login_folded, password_hash, created_at, admin) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (login_folded) DO NOTHING RETURNING id, login`,
    ),
    accountById: db.query<Row, [number]>(`SELECT ${ACCOUNT} FROM users WHERE id = ? AND deleted_at IS NULL`),
    accountPage: db.query<Row, [string, number, number]>(
      `SELECT ${ACCOUNT} FROM users WHERE deleted_at IS NULL AND id < ?2 AND (?1 = '' OR instr(login_folded, ?1) > 0)
       ORDER BY id DESC LIMIT ?3`,
    ),
    enabledAdmins: db.query<{ n: number }, []>(
      "SELECT count(*) AS n FROM users WHERE admin = 1 AND disabled = 0 AND deleted_at IS NULL",
    ),
    setFlags: db.query<never, [number, number | null, number | null]>(
      "UPDATE users SET admin = coalesce(?2, admin), disabled = coalesce(?3, disabled) WHERE id = ?1",
    ),
    markDeleted: db.query<never, [number, string, string, number]>(
      `UPDATE users SET login = ?2, login_folded = ?3, password_hash = '', admin = 0, disabled = 1, deleted_at = ?4
       WHERE id = ?1`,
    ),
    deleteUserSessions: db.query<never, [number]>("DELETE FROM sessions WHERE user_id = ?"),
    deleteUserInvites: db.query<never, [number]>("DELETE FROM invites WHERE created_by = ?"),
    deleteSetupInvites: db.query<never, []>("DELETE FROM invites WHERE admin = 1"),
    insertInvite: db.query<
      never,
      [Uint8Array, string, number | null, number | null, number, number, number | null, number]
    >(
      `INSERT INTO invites (code_hash, public_id, created_by, room_id, admin, uses_left, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    purgeInvites: db.query<never, [number]>("DELETE FROM invites WHERE expires_at <= ?"),
    liveInvites: db.query<Invite, [number]>(
      `SELECT ${INVITE} FROM invites WHERE admin = 0 AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?)
       ORDER BY created_at DESC, public_id`,
    ),
    inviteByHash: db.query<Invite & { admin: number }, [Uint8Array]>(
      `SELECT ${INVITE}, admin FROM invites WHERE code_hash = ?`,
    ),
    takeUse: db.query<never, [Uint8Array]>("UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = ?"),
    deleteInvite: db.query<never, [Uint8Array]>("DELETE FROM invites WHERE code_hash = ?"),
    revokeInvite: db.query<never, [Uint8Array, string]>("DELETE FROM invites WHERE code_hash = ? OR public_id = ?"),
  };
}
