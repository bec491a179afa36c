// Users: search by login.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { foldLogin } from "../validate.ts";
import { json, type Req } from "./respond.ts";

const SEARCH_LIMIT = 50;

export function userHandlers(deps: SessionDeps) {
  const { store } = deps;
  return {
    async handleSearchUsers(req: Req) {
      await requireUser(deps, req);
      const q = new URL(req.url).searchParams.get("q") ?? "";
      if (q === "") return json([]);
      const users = await store.searchUsers(foldLogin(q), SEARCH_LIMIT);
      return json(users.map((u) => ({ id: u.id, login: u.login })));
    },
  };
}
