// Users: search by login.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import type { Limits } from "../limits/limits.ts";
import { foldLogin } from "../validate.ts";
import { json, type Req } from "./respond.ts";

const SEARCH_LIMIT = 50;
// No fold is longer (UTF-16 units): a login has at most 64 code points, NFKC makes at most 18 of one.
const LONGEST_FOLD = 64 * 18 * 2;

export function userHandlers(deps: SessionDeps & { limits: Pick<Limits, "search"> }) {
  const { store, limits } = deps;
  return {
    async handleSearchUsers(req: Req) {
      const caller = await requireUser(deps, req);
      const q = foldLogin(new URL(req.url).searchParams.get("q") ?? "");
      // No login holds a control character, nor a fold that long.
      if (q === "" || q.length > LONGEST_FOLD || /\p{Cc}/u.test(q)) return json([]);
      limits.search(caller.userId);
      const users = await store.searchUsers(q, SEARCH_LIMIT);
      return json(users.map((u) => ({ id: u.id, login: u.login })));
    },
  };
}
