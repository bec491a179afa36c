// Account and invite rules that both dialects share: what a deleted account becomes, when an invite may
// be used, and the last enabled admin.
import type { AccountChange } from "./store.ts";

// A deleted account keeps its id (its messages stay attributed to it) under a placeholder login, and its
// fold moves out of reach: no typed or searched login starts with a control character (validate.ts), so
// the freed login can be registered again and searches never find the placeholder.
export const deletedLogin = (id: number) => `deleted-${id}`;
export const deletedFold = (id: number) => `\u0002deleted-${id}`;
export const DELETED_FOLD_START = "\u0002";

export type InviteState = { usesLeft: number; expiresAt: number | null; admin: boolean };

// setupOnly: registration is closed, where only the first-admin setup link still works.
export function inviteUsable(i: InviteState, now: number, adminExists: boolean, setupOnly: boolean): boolean {
  if (i.usesLeft < 1 || (i.expiresAt !== null && i.expiresAt <= now)) return false;
  if (i.admin) return !adminExists;
  return !setupOnly;
}

// The last enabled admin may not stop being one (demoted, disabled or deleted): someone must stay able
// to manage the server. `change` null: the account is being deleted.
export function leavesNoAdmin(
  target: { admin: boolean; disabled: boolean },
  change: AccountChange | null,
  enabledAdmins: number,
): boolean {
  if (!target.admin || target.disabled || enabledAdmins > 1) return false;
  return change === null || change.admin === false || change.disabled === true;
}

export const SESSION_LIST_LIMIT = 1000; // a user's sessions shown at most (the newest)
