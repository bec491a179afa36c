// Admins manage users: list and search, disable or enable, make or unmake admins, delete.
import { requireAdmin, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Notifier } from "../realtime/notifier.ts";
import type { AccountChange, AccountResult } from "../store/store.ts";
import { cursor, foldLogin, type Json, limitParam } from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { accountJson } from "./shapes.ts";

export const ADMIN_USER_PAGE = { default: 50, max: 200 };

type AdminDeps = SessionDeps & { notify: Pick<Notifier, "userEnded">; log: Logger };

export function adminHandlers(deps: AdminDeps) {
  const { store, now, notify, log } = deps;
  return {
    // Newest first; the next page is ?before=<the last id shown>.
    async handleListUsers(req: Req) {
      await requireAdmin(deps, req);
      const params = new URL(req.url).searchParams;
      const folded = foldLogin(params.get("q") ?? "");
      const limit = limitParam(params, ADMIN_USER_PAGE.default, ADMIN_USER_PAGE.max);
      const before = cursor(params.get("before"), "before");
      if (/\p{Cc}/u.test(folded)) return json([]); // no login holds one
      return json((await store.listAccounts({ folded, limit, before })).map(accountJson));
    },
    // Disabling ends every session of the user and closes their sockets everywhere.
    async handleUpdateUser(req: Req) {
      const caller = await requireAdmin(deps, req);
      const id = userId(req.params.id!);
      const change = accountChange(await readJson(req));
      check(await store.updateAccount(id, change));
      if (change.disabled) notify.userEnded(id);
      log.info("user changed by an admin", { user: id, by: caller.userId, ...change });
      const account = await store.findAccount(id);
      if (!account) throw new ApiError("user_not_found");
      return json(accountJson(account));
    },
    async handleDeleteUser(req: Req) {
      const caller = await requireAdmin(deps, req);
      const id = userId(req.params.id!);
      check(await store.deleteAccount(id, now()));
      notify.userEnded(id);
      log.info("user deleted by an admin", { user: id, by: caller.userId });
      return json({});
    },
  };
}

function check(result: AccountResult) {
  if (result === "not_found") throw new ApiError("user_not_found");
  if (result === "last_admin") throw new ApiError("last_admin");
}

function userId(raw: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new ApiError("user_not_found");
  return Number(raw);
}

function accountChange(body: Json): AccountChange {
  const change: AccountChange = {};
  for (const key of ["disabled", "admin"] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw new ApiError("invalid_json", `"${key}" must be true or false`);
    change[key] = v;
  }
  if (Object.keys(change).length === 0) throw new ApiError("invalid_json", 'give "disabled" and/or "admin"');
  return change;
}
