// Web Push payload encryption: RFC 8291 over the RFC 8188 `aes128gcm` content coding, with WebCrypto only.
// One record, no padding beyond the 0x02 delimiter. A fresh sender key pair and salt per message (reusing
// either would repeat an AES-GCM key and nonce); the tests pass fixed ones to reproduce the RFC's example.
// Body: salt (16) | record size (4, big-endian) | key id length (1) | sender public key (65) | ciphertext.

export const RECORD_SIZE = 4096;
// What fits a 4096-byte body: the header (86), the delimiter (1) and the GCM tag (16) are paid first.
export const MAX_PLAINTEXT = 3993;
const P256_POINT = 65;
const AUTH_SECRET = 16;

const text = new TextEncoder();
const ECDH = { name: "ECDH", namedCurve: "P-256" } as const;

// Bytes WebCrypto accepts (not over a SharedArrayBuffer).
export type Bytes = Uint8Array<ArrayBuffer>;
export type SubscriptionKeys = { p256dh: Bytes; auth: Bytes };
export type EncryptOptions = { sender?: CryptoKeyPair; salt?: Bytes };

export const toBase64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
export const fromBase64url = (s: string): Bytes => new Uint8Array(Buffer.from(s, "base64url"));

// A P-256 key as JWK from its raw uncompressed point (0x04 | x | y) and, for a private key, its scalar d;
// WebCrypto imports a raw public key but no raw private one.
export function p256Jwk(point: Uint8Array, d?: Uint8Array): JsonWebKey {
  const x = toBase64url(point.subarray(1, 33));
  const y = toBase64url(point.subarray(33, 65));
  return d ? { kty: "EC", crv: "P-256", x, y, d: toBase64url(d) } : { kty: "EC", crv: "P-256", x, y };
}

// The ECDH key pair of a raw public point and private scalar (the RFC's example sender, a test's subscriber).
export async function importEcdhPair(point: Bytes, d: Bytes): Promise<CryptoKeyPair> {
  return {
    publicKey: await crypto.subtle.importKey("raw", point, ECDH, true, []),
    privateKey: await crypto.subtle.importKey("jwk", p256Jwk(point, d), ECDH, true, ["deriveBits"]),
  };
}

// A subscription's keys (PushSubscription JSON `keys.p256dh` and `keys.auth`, base64url) decoded, or null
// when they are not a point on P-256 and a 16-byte secret.
export async function readSubscriptionKeys(p256dh: string, auth: string): Promise<SubscriptionKeys | null> {
  const base64url = /^[A-Za-z0-9_-]+={0,2}$/;
  if (!base64url.test(p256dh) || !base64url.test(auth)) return null;
  const keys = { p256dh: fromBase64url(p256dh), auth: fromBase64url(auth) };
  if (keys.p256dh.length !== P256_POINT || keys.p256dh[0] !== 4 || keys.auth.length !== AUTH_SECRET) return null;
  try {
    await crypto.subtle.importKey("raw", keys.p256dh, ECDH, false, []);
  } catch {
    return null; // not on the curve
  }
  return keys;
}

async function hkdf(salt: Bytes, ikm: Bytes, info: Bytes, bytes: number): Promise<Bytes> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8);
  return new Uint8Array(bits);
}

const concat = (...parts: Uint8Array[]): Bytes => new Uint8Array(Buffer.concat(parts));

// RFC 8291 section 3.4 then RFC 8188 section 2.2: the content encryption key and the nonce of one message.
async function deriveContentKey(
  ecdhSecret: Bytes,
  auth: Bytes,
  uaPublic: Bytes,
  asPublic: Bytes,
  salt: Bytes,
): Promise<{ cek: Bytes; nonce: Bytes }> {
  const keyInfo = concat(text.encode("WebPush: info\0"), uaPublic, asPublic);
  const ikm = await hkdf(auth, ecdhSecret, keyInfo, 32);
  const cek = await hkdf(salt, ikm, text.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, text.encode("Content-Encoding: nonce\0"), 12);
  return { cek, nonce };
}

// The aes128gcm header: salt, record size, and the sender's public key as the key id.
function header(salt: Bytes, asPublic: Bytes): Bytes {
  const out = new Uint8Array(16 + 4 + 1 + asPublic.length);
  out.set(salt, 0);
  new DataView(out.buffer).setUint32(16, RECORD_SIZE);
  out[20] = asPublic.length;
  out.set(asPublic, 21);
  return out;
}

// The request body for one push message to a subscription. Throws RangeError past MAX_PLAINTEXT.
export async function encryptPush(
  plaintext: Uint8Array,
  keys: SubscriptionKeys,
  options: EncryptOptions = {},
): Promise<Bytes> {
  if (plaintext.length > MAX_PLAINTEXT) throw new RangeError(`push payload over ${MAX_PLAINTEXT} bytes`);
  const sender = options.sender ?? (await crypto.subtle.generateKey(ECDH, true, ["deriveBits"]));
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  if (salt.length !== 16) throw new RangeError("aes128gcm salt must be 16 bytes");
  const uaKey = await crypto.subtle.importKey("raw", keys.p256dh, ECDH, false, []);
  const asPublic = new Uint8Array(await crypto.subtle.exportKey("raw", sender.publicKey));
  const secret = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: uaKey }, sender.privateKey, 256),
  );
  const { cek, nonce } = await deriveContentKey(secret, keys.auth, keys.p256dh, asPublic, salt);
  const aes = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  const record = concat(plaintext, Uint8Array.of(2));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, aes, record);
  return concat(header(salt, asPublic), new Uint8Array(sealed));
}
