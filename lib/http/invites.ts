// Invites: admins make, list and revoke them; POST /v1/register takes their codes (accounts.ts).
import { createInvite, INVITE_CODE, INVITE_SECONDS, INVITE_USES, inviteUrl } from "../auth/registration.ts";
import { hashToken, requireAdmin, type SessionDeps } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { type Json, roomId } from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { inviteJson, newInviteJson } from "./shapes.ts";

type InviteDeps = SessionDeps & { config: Pick<Config, "publicUrl" | "trustProxy"> };

export function inviteHandlers(deps: InviteDeps) {
  const { store, now } = deps;
  return {
    async handleCreateInvite(req: Req) {
      const caller = await requireAdmin(deps, req);
      const body = await readJson(req);
      const uses = whole(body, "uses", INVITE_USES.default, 1, INVITE_USES.max);
      const seconds = whole(body, "expires_in", INVITE_SECONDS.default, INVITE_SECONDS.min, INVITE_SECONDS.max);
      const room = inviteRoom(body);
      // An admin invites into rooms they are in; any other id is as unknown as elsewhere in the API.
      if (room !== null && !(await store.isMember(room, caller.userId))) throw new ApiError("room_not_found");
      const made = await createInvite(store, now(), { createdBy: caller.userId, roomId: room, uses, seconds });
      return json(newInviteJson(made, inviteUrl(publicBase(deps.config, req), made.code)));
    },
    async handleListInvites(req: Req) {
      await requireAdmin(deps, req);
      return json((await store.listInvites(now())).map(inviteJson));
    },
    // By the code, or by the id the list shows (the list never shows codes).
    async handleRevokeInvite(req: Req) {
      await requireAdmin(deps, req);
      const key = req.params.code!;
      const known = INVITE_CODE.test(key) || /^[0-9a-f]{32}$/.test(key);
      if (!known || !(await store.revokeInvite(hashToken(key), key))) throw new ApiError("invite_not_found");
      return json({});
    },
  };
}

function whole(body: Json, key: string, def: number, min: number, max: number): number {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ApiError("invalid_json", `"${key}" must be an integer from ${min} to ${max}`);
  return v;
}

function inviteRoom(body: Json): number | null {
  const v = body.room_id;
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isSafeInteger(v))
    throw new ApiError("invalid_json", '"room_id" must be an integer');
  return roomId(String(v));
}

// --public-url, else the address this request came to: its Host (with --trust-proxy, the proxy's
// X-Forwarded-Host and X-Forwarded-Proto), so a link works for whoever could make this request.
export function publicBase(config: Pick<Config, "publicUrl" | "trustProxy">, req: Request): string {
  if (config.publicUrl) return config.publicUrl;
  const url = new URL(req.url);
  const last = (name: string) => req.headers.get(name)?.split(",").at(-1)?.trim() || undefined;
  const host = (config.trustProxy && last("x-forwarded-host")) || req.headers.get("host") || url.host;
  const proto = (config.trustProxy && last("x-forwarded-proto")) || url.protocol.slice(0, -1);
  return `${proto}://${host}`;
}
