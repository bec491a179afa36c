// A user's own sessions: list them, end one (its sockets close with 4001 on every instance).
import { PUBLIC_ID } from "../auth/registration.ts";
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import type { Notifier } from "../realtime/notifier.ts";
import { json, type Req } from "./respond.ts";
import { sessionJson } from "./shapes.ts";

export function sessionHandlers(deps: SessionDeps & { notify: Pick<Notifier, "sessionEnded"> }) {
  const { store, notify } = deps;
  return {
    async handleListSessions(req: Req) {
      const caller = await requireUser(deps, req);
      const mine = caller.tokenHash.toHex();
      const rows = await store.listSessions(caller.userId);
      return json(rows.map((s) => sessionJson(s, s.tokenHash.toHex() === mine)));
    },
    // Another user's session is as unknown as a made-up id.
    async handleEndSession(req: Req) {
      const caller = await requireUser(deps, req);
      const id = req.params.id!;
      const hash = PUBLIC_ID.test(id) ? await store.endSession(caller.userId, id) : null;
      if (!hash) throw new ApiError("session_not_found");
      notify.sessionEnded(hash);
      return json({});
    },
  };
}
