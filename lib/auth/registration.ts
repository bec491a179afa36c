// Who may register: invite codes (made by admins, the CLI, or at start as the first-admin setup link),
// their links, and the start-up lines about registration.
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { NewInvite, Store } from "../store/store.ts";
import { hashToken } from "./sessions.ts";

// 18 random bytes (144 bits) as 24 base64url characters; stored as its SHA-256, like session ids.
export const INVITE_CODE = /^[A-Za-z0-9_-]{24}$/;
export const PUBLIC_ID = /^[0-9a-f]{32}$/;
export const INVITE_USES = { default: 1, max: 1000 };
export const INVITE_SECONDS = { default: 7 * 24 * 3600, min: 60, max: 365 * 24 * 3600 };

export const newInviteCode = () => Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
// What lists show and ends or revokes by: random, and no way to the secret.
export const newPublicId = () => crypto.getRandomValues(new Uint8Array(16)).toHex();

// The web client opens its registration form with the code filled in.
export const inviteUrl = (base: string, code: string) => `${base}/#invite=${code}`;

export type InviteOptions = { createdBy: number | null; roomId: number | null; uses: number; seconds: number };

export async function createInvite(store: Store, now: number, o: InviteOptions) {
  const expiresAt = now + o.seconds * 1000;
  const { createdBy, roomId, uses } = o;
  return storeInvite(store, { createdBy, roomId, uses, expiresAt, admin: false, now });
}

async function storeInvite(store: Store, fields: Omit<NewInvite, "codeHash" | "publicId">) {
  const code = newInviteCode();
  const publicId = newPublicId();
  await store.createInvite({ ...fields, codeHash: hashToken(code), publicId });
  return { code, publicId, usesLeft: fields.uses, expiresAt: fields.expiresAt, roomId: fields.roomId };
}

// At start: a server anyone can register on says so, and while no admin exists a one-time link makes the
// first one (valid in every registration mode, until used or until an admin exists).
export async function announceRegistration(
  deps: { store: Store; config: Config; now: () => number; log: Logger },
  url: string,
  port: number, // the bound one: --port 0 picks a free port
) {
  const { store, config, now, log } = deps;
  if (config.registration === "open" && !isLoopback(config.host)) {
    log.warn(
      `registration is open: anyone who reaches ${config.host}:${port} can make an account; ` +
        "set --registration invite (ECHAT_REGISTRATION=invite) to require invite codes",
    );
  }
  if (await store.hasAdmin()) return;
  const { code } = await storeInvite(store, {
    createdBy: null,
    roomId: null,
    admin: true,
    uses: 1,
    expiresAt: null,
    now: now(),
  });
  log.info(`no admin yet: open ${inviteUrl(config.publicUrl || url, code)} to create the first admin account`);
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || host.startsWith("127.");
