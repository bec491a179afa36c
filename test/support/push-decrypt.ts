// The subscriber's and the push service's side of Web Push, written with node:crypto apart from lib/push/: open
// an aes128gcm body with the subscription's private key (RFC 8291) and verify a VAPID token's ES256 signature
// (RFC 8292), as a browser and a push service would.
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, verify } from "node:crypto";

const text = new TextEncoder();
const hkdf = (salt: Uint8Array, ikm: Uint8Array, info: string | Uint8Array, bytes: number) =>
  new Uint8Array(hkdfSync("sha256", ikm, salt, typeof info === "string" ? text.encode(info) : info, bytes));

// Read the header (salt, record size, the sender's key), derive the key and nonce from the subscription's private
// key, open the record, check and strip the 0x02 delimiter.
export function openPush(body: Uint8Array, uaPrivate: Uint8Array, auth: Uint8Array) {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const salt = body.subarray(0, 16);
  const recordSize = view.getUint32(16);
  const asPublic = body.subarray(21, 21 + body[20]!);
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(uaPrivate);
  const uaPublic = new Uint8Array(ecdh.getPublicKey());
  const secret = new Uint8Array(ecdh.computeSecret(asPublic));
  const ikm = hkdf(auth, secret, Buffer.concat([text.encode("WebPush: info\0"), uaPublic, asPublic]), 32);
  const cek = hkdf(salt, ikm, "Content-Encoding: aes128gcm\0", 16);
  const nonce = hkdf(salt, ikm, "Content-Encoding: nonce\0", 12);
  const sealed = body.subarray(21 + asPublic.length);
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const record = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  let end = record.length - 1;
  while (end > 0 && record[end] === 0) end--;
  if (record[end] !== 2) throw new Error("no 0x02 delimiter");
  return { plaintext: new TextDecoder().decode(record.subarray(0, end)), recordSize, asPublic, cek };
}

// An `Authorization: vapid t=<JWT>, k=<key>` header taken apart.
export function parseVapid(header: string) {
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header);
  if (!match?.[1] || !match[2]) throw new Error(`not a VAPID header: ${header}`);
  const [head = "", claims = "", signature = ""] = match[1].split(".");
  const json = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString());
  return {
    token: match[1],
    key: match[2],
    head: json(head),
    claims: json(claims),
    signed: `${head}.${claims}`,
    signature,
  };
}

// The JWS signature (ES256, r | s) verified against a raw P-256 public key, base64url, as a push service does.
export function verifyEs256(signed: string, signature: string, key: string): boolean {
  const spki = Buffer.concat([
    Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"), // id-ecPublicKey, prime256v1
    Buffer.from(key, "base64url"),
  ]);
  const publicKey = createPublicKey({ key: spki, format: "der", type: "spki" });
  const sig = Buffer.from(signature, "base64url");
  return verify("sha256", Buffer.from(signed), { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);
}
