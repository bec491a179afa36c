// Web Push (docs/api.md#push): the server's VAPID public key, which browsers subscribe with, and the
// subscriptions a session registers (removed with the session: logout, password change, disable, delete).
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import { readSubscriptionKeys } from "../push/ece.ts";
import { checkEndpoint } from "../push/endpoint.ts";
import type { PushSubscriptionRow } from "../store/store.ts";
import { json, type Req, readJson } from "./respond.ts";

// A user's subscriptions at most (browsers and devices); registering one more drops the user's oldest.
export const MAX_PUSH_SUBSCRIPTIONS = 10;

type Deps = SessionDeps & { vapidPublicKey: string; allowLoopback: boolean };
type Parsed = Pick<PushSubscriptionRow, "endpoint" | "p256dh" | "auth">;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

// The browser's PushSubscription JSON: its shape (invalid_subscription), the endpoint (invalid_endpoint), then
// the keys (invalid_subscription: a P-256 point and a 16-byte secret, base64url).
async function readSubscription(body: Record<string, unknown>, allowLoopback: boolean): Promise<Parsed> {
  const { endpoint, keys } = body;
  if (
    typeof endpoint !== "string" ||
    !isRecord(keys) ||
    typeof keys.p256dh !== "string" ||
    typeof keys.auth !== "string"
  )
    throw new ApiError("invalid_subscription", 'give {"endpoint", "keys": {"p256dh", "auth"}}');
  const checked = checkEndpoint(endpoint, { allowLoopback });
  if (!checked.ok) throw new ApiError("invalid_endpoint", `the push endpoint is refused: ${checked.detail}`);
  if (!(await readSubscriptionKeys(keys.p256dh, keys.auth)))
    throw new ApiError("invalid_subscription", "keys.p256dh must be a P-256 point and keys.auth 16 bytes, base64url");
  return { endpoint, p256dh: keys.p256dh, auth: keys.auth };
}

export function pushHandlers(deps: Deps) {
  const { store, now } = deps;
  return {
    async handlePushKey(req: Req) {
      await requireUser(deps, req);
      return json({ key: deps.vapidPublicKey });
    },
    // The same endpoint again replaces its row (new keys, this session).
    async handleSubscribe(req: Req) {
      const caller = await requireUser(deps, req);
      const sub = await readSubscription(await readJson(req), deps.allowLoopback);
      const row = { ...sub, tokenHash: caller.tokenHash, userId: caller.userId, createdAt: now() };
      await store.savePushSubscription(row, MAX_PUSH_SUBSCRIPTIONS);
      return json({});
    },
    // Idempotent: an endpoint the caller does not have is already gone.
    async handleUnsubscribe(req: Req) {
      const caller = await requireUser(deps, req);
      const { endpoint } = await readJson(req);
      if (typeof endpoint !== "string") throw new ApiError("invalid_subscription", 'give {"endpoint"}');
      await store.deletePushSubscription(caller.userId, endpoint);
      return json({});
    },
  };
}
