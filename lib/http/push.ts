// Web Push (docs/api.md#push): the server's VAPID public key, which browsers subscribe with.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { json, type Req } from "./respond.ts";

export function pushHandlers(deps: SessionDeps & { vapidPublicKey: string }) {
  return {
    async handlePushKey(req: Req) {
      await requireUser(deps, req);
      return json({ key: deps.vapidPublicKey });
    },
  };
}
