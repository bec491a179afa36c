// Accounts and invites on PostgreSQL: the same rules as on SQLite (store/accounts.ts). Changes that
// count the admins take a transaction-level advisory lock, so two of them never both see "not the last".
import type { SQL } from "bun";
import { deletedFold, deletedLogin, inviteUsable, leavesNoAdmin } from "../accounts.ts";
import type { Account, Invite, Store } from "../store.ts";
import { inviteJoin } from "./room-changes.ts";
import { type Row, user } from "./rows.ts";

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

const ADMINS_LOCK = 0x6563686175; // next to the migration lock's "echat"

export function createAccounts(sql: SQL): Accounts {
  return {
    async createUser(login, folded, passwordHash, now, admin = false) {
      return sql.begin(async (tx) => {
        const [row] = await tx`INSERT INTO users (login, login_folded, password_hash, created_at, admin)
          VALUES (${login}, ${folded}, ${passwordHash}, ${now}, ${admin}) ON CONFLICT (login_folded) DO NOTHING
          RETURNING id, login`;
        if (row && admin) await tx`DELETE FROM invites WHERE admin`;
        return row ? user(row) : null;
      });
    },
    async findAccount(userId) {
      const [row] = await sql`SELECT * FROM users WHERE id = ${userId} AND deleted_at IS NULL`;
      return row ? account(row) : null;
    },
    async listAccounts({ folded, limit, before }) {
      if (folded.includes("\0")) return [];
      const rows = await sql`SELECT * FROM users WHERE deleted_at IS NULL AND id < ${before ?? Number.MAX_SAFE_INTEGER}
        ${folded === "" ? sql`` : sql`AND strpos(login_folded, ${folded}) > 0`} ORDER BY id DESC LIMIT ${limit}`;
      return rows.map(account);
    },
    updateAccount: (userId, change) =>
      sql.begin(async (tx) => {
        const target = await lockedAccount(tx, userId);
        if (!target) return "not_found";
        if (leavesNoAdmin(target, change, await enabledAdmins(tx))) return "last_admin";
        await tx`UPDATE users SET admin = coalesce(${change.admin ?? null}::boolean, admin),
          disabled = coalesce(${change.disabled ?? null}::boolean, disabled) WHERE id = ${userId}`;
        if (change.disabled) await tx`DELETE FROM sessions WHERE user_id = ${userId}`;
        if (change.admin && !target.disabled) await tx`DELETE FROM invites WHERE admin`;
        return "ok";
      }),
    deleteAccount: (userId, now) =>
      sql.begin(async (tx) => {
        const target = await lockedAccount(tx, userId);
        if (!target) return "not_found";
        if (leavesNoAdmin(target, null, await enabledAdmins(tx))) return "last_admin";
        await tx`DELETE FROM sessions WHERE user_id = ${userId}`;
        await tx`DELETE FROM invites WHERE created_by = ${userId}`;
        await tx`UPDATE users SET login = ${deletedLogin(userId)}, login_folded = ${deletedFold(userId)},
          password_hash = '', admin = false, disabled = true, deleted_at = ${now} WHERE id = ${userId}`;
        return "ok";
      }),
    hasAdmin: async () => (await enabledAdmins(sql)) > 0,
    async createInvite(i) {
      await sql`DELETE FROM invites WHERE expires_at <= ${i.now}`;
      await sql`INSERT INTO invites (code_hash, public_id, created_by, room_id, admin, uses_left, expires_at, created_at)
        VALUES (${i.codeHash}, ${i.publicId}, ${i.createdBy}, ${i.roomId}, ${i.admin}, ${i.uses}, ${i.expiresAt}, ${i.now})`;
    },
    async listInvites(now) {
      const rows = await sql`SELECT * FROM invites WHERE NOT admin AND uses_left > 0
        AND (expires_at IS NULL OR expires_at > ${now}) ORDER BY created_at DESC, public_id`;
      return rows.map(invite);
    },
    async revokeInvite(codeHash, publicId) {
      if (publicId.includes("\0")) return false;
      const rows = await sql`DELETE FROM invites WHERE code_hash = ${codeHash} OR public_id = ${publicId} RETURNING 1`;
      return rows.length > 0;
    },
    registerWithInvite: (codeHash, u, now, setupOnly, maxUsers) =>
      sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${ADMINS_LOCK})`; // a setup link checks that no admin exists
        const [row] = await tx`SELECT * FROM invites WHERE code_hash = ${codeHash} FOR UPDATE`;
        const state = row && { ...invite(row), admin: row.admin as boolean };
        if (!state || !inviteUsable(state, now, (await enabledAdmins(tx)) > 0, setupOnly)) return "invalid";
        const [made] = await tx`INSERT INTO users (login, login_folded, password_hash, created_at, admin)
          VALUES (${u.login}, ${u.folded}, ${u.passwordHash}, ${u.now}, ${state.admin})
          ON CONFLICT (login_folded) DO NOTHING RETURNING id, login`;
        if (!made) return "taken";
        if (state.usesLeft > 1) await tx`UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = ${codeHash}`;
        else await tx`DELETE FROM invites WHERE code_hash = ${codeHash}`;
        if (state.admin) await tx`DELETE FROM invites WHERE admin`;
        const events =
          state.roomId === null ? null : await inviteJoin(tx, state.roomId, Number(made.id), now, maxUsers);
        return { user: user(made), roomId: events ? state.roomId : null, events: events ?? [] };
      }),
  };
}

// Locks the target's row and serializes with every other admin-counting change.
async function lockedAccount(tx: SQL, userId: number): Promise<Account | null> {
  await tx`SELECT pg_advisory_xact_lock(${ADMINS_LOCK})`;
  const [row] = await tx`SELECT * FROM users WHERE id = ${userId} AND deleted_at IS NULL FOR UPDATE`;
  return row ? account(row) : null;
}

async function enabledAdmins(sql: SQL): Promise<number> {
  const [{ n }] = await sql`SELECT count(*) AS n FROM users WHERE admin AND NOT disabled AND deleted_at IS NULL`;
  return Number(n);
}

function account(r: Row): Account {
  return {
    ...user(r),
    admin: r.admin,
    disabled: r.disabled,
    createdAt: Number(r.created_at),
    lastSeenAt: r.last_seen_at === null ? null : Number(r.last_seen_at),
  };
}

function invite(r: Row): Invite {
  return {
    publicId: r.public_id,
    createdBy: r.created_by === null ? null : Number(r.created_by),
    roomId: r.room_id === null ? null : Number(r.room_id),
    usesLeft: Number(r.uses_left),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    createdAt: Number(r.created_at),
  };
}
