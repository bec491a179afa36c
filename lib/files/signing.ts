// Signed file URLs: /v1/files/<public id>/<name>?expires=<unix s>&sig=<base64url HMAC-SHA256>, so that
// <img src> works without headers. The MAC covers the public id, the expiry and the room's file epoch
// (rooms.file_epoch, +1 when a member leaves or is removed), which is not in the URL: the server reads the
// room's epoch now when it checks, so a removed member's URLs stop working at once. The key is the server's
// file_secret (the settings table), the same on every instance. See docs/security.md.
import { createHmac, timingSafeEqual } from "node:crypto";

// A URL lives an hour, give or take: expiries are rounded up to the next 10 minutes, so the URLs minted
// within that window are the same (a browser's cache keeps working) and each lives 60 to 70 minutes.
export const URL_LIFETIME_S = 3600;
const ROUND_S = 600;

export type Signer = {
  url(file: { publicId: string; name: string }, epoch: number): string;
  // True when sig is the MAC of this file, expiry and epoch, and the expiry is still ahead.
  verify(publicId: string, epoch: number, expires: string | null, sig: string | null): boolean;
};

export function createSigner(secret: string, now: () => number): Signer {
  const key = Buffer.from(secret, "base64url");
  const mac = (publicId: string, expires: number, epoch: number) =>
    createHmac("sha256", key).update(`${publicId}.${expires}.${epoch}`).digest();
  return {
    url({ publicId, name }, epoch) {
      const expires = Math.ceil((now() / 1000 + URL_LIFETIME_S) / ROUND_S) * ROUND_S;
      const sig = mac(publicId, expires, epoch).toString("base64url");
      return `/v1/files/${publicId}/${encodeURIComponent(name)}?expires=${expires}&sig=${sig}`;
    },
    verify(publicId, epoch, expires, sig) {
      if (expires === null || sig === null || !/^\d{1,12}$/.test(expires)) return false;
      if (Number(expires) * 1000 <= now()) return false;
      const given = Buffer.from(sig, "base64url");
      const want = mac(publicId, Number(expires), epoch);
      return given.length === want.length && timingSafeEqual(given, want);
    },
  };
}

// 32 random bytes, base64url: a new server's file_secret.
export const newFileSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
// 16 random bytes (128 bits) as 22 base64url characters: a file's public id.
export const newFileId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
