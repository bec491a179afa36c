// VAPID (RFC 8292): the server's own P-256 key signs a short-lived JWT (ES256) per push service, sent as
// `Authorization: vapid t=<JWT>, k=<public key>`. Browsers subscribe with the public key
// (applicationServerKey), and push services then accept only requests signed by its private key.
import { fromBase64url, p256Jwk, toBase64url } from "./ece.ts";

// Stored form, the same on every instance: the raw uncompressed public point and the private scalar d, each
// base64url. The public one is what GET /v1/push/key gives browsers.
export type VapidKeys = { publicKey: string; privateKey: string };

export type VapidSigner = {
  // The Authorization header's value for a request to this push endpoint (aud = the endpoint's origin).
  authorization(endpoint: string): Promise<string>;
};

// RFC 8292 allows up to 24 hours; a token is reused until less than an hour of it is left.
export const TOKEN_LIFETIME_S = 12 * 3600;
const RENEW_BEFORE_S = 3600;
const MAX_CACHED = 64;
const ECDSA = { name: "ECDSA", namedCurve: "P-256" } as const;

export async function generateVapidKeys(): Promise<VapidKeys> {
  const pair = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const { d } = await crypto.subtle.exportKey("jwk", pair.privateKey);
  if (!d) throw new Error("P-256 private key exported without d");
  return { publicKey: toBase64url(point), privateKey: d };
}

// The contact push services may use (RFC 8292 section 2.1): a mailto: or https: URI.
export function isVapidContact(sub: string): boolean {
  return /^mailto:[^\s@]+@[^\s@]+$/.test(sub) || (URL.canParse(sub) && new URL(sub).protocol === "https:");
}

const jsonPart = (value: object) => toBase64url(new TextEncoder().encode(JSON.stringify(value)));

// One compact JWS; WebCrypto's ECDSA signature is already r | s, JWS's ES256 form.
async function signJwt(key: CryptoKey, claims: { aud: string; exp: number; sub: string }): Promise<string> {
  const input = `${jsonPart({ typ: "JWT", alg: "ES256" })}.${jsonPart(claims)}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input));
  return `${input}.${toBase64url(new Uint8Array(signature))}`;
}

// A signer for the stored keys; `now` in milliseconds (the server's clock, injected in tests). Tokens are cached
// per origin, a few dozen at most: there are few push services.
export async function createVapidSigner(keys: VapidKeys, contact: string, now: () => number): Promise<VapidSigner> {
  if (!isVapidContact(contact)) throw new Error(`VAPID contact must be a mailto: or https: URI: ${contact}`);
  const jwk = p256Jwk(fromBase64url(keys.publicKey), fromBase64url(keys.privateKey));
  const key = await crypto.subtle.importKey("jwk", jwk, ECDSA, false, ["sign"]);
  const cache = new Map<string, { token: string; exp: number }>();
  return {
    async authorization(endpoint) {
      const aud = new URL(endpoint).origin;
      const nowS = Math.floor(now() / 1000);
      let cached = cache.get(aud);
      if (!cached || cached.exp - nowS < RENEW_BEFORE_S) {
        const exp = nowS + TOKEN_LIFETIME_S;
        cached = { token: await signJwt(key, { aud, exp, sub: contact }), exp };
        if (cache.size >= MAX_CACHED) cache.clear();
        cache.set(aud, cached);
      }
      return `vapid t=${cached.token}, k=${keys.publicKey}`;
    },
  };
}
