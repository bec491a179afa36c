// Web Push's crypto on its own (lib/push/): the RFC 8291 example to the byte, round trips opened by an
// independent decrypt (node:crypto, the subscriber's side), VAPID tokens verified as a push service would, and
// the endpoint refusals. Pure functions: no server here.
import { describe, expect, test } from "bun:test";
import { createECDH } from "node:crypto";
import {
  encryptPush,
  fromBase64url,
  importEcdhPair,
  MAX_PLAINTEXT,
  RECORD_SIZE,
  readSubscriptionKeys,
  toBase64url,
} from "../lib/push/ece.ts";
import {
  checkEndpoint,
  checkEndpointAtSend,
  type EndpointOptions,
  type Lookup,
  nonPublicReason,
} from "../lib/push/endpoint.ts";
import { createVapidSigner, generateVapidKeys, TOKEN_LIFETIME_S } from "../lib/push/vapid.ts";
import {
  openPush as decryptPush,
  parseVapid as parseAuthorization,
  verifyEs256 as verifyToken,
} from "./support/push-decrypt.ts";

// RFC 8291 section 5 and appendix A (the base64url values without their line breaks).
const RFC = {
  plaintext: "When I grow up, I want to be a watermelon",
  asPublic: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  cek: "oIhVW04MRdy2XN9CiKLxTg",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

const text = new TextEncoder();

// A browser's subscription: its key pair and auth secret.
function newSubscriber() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = crypto.getRandomValues(new Uint8Array(16));
  return { p256dh: new Uint8Array(ecdh.getPublicKey()), privateKey: new Uint8Array(ecdh.getPrivateKey()), auth };
}

describe("aes128gcm encryption (RFC 8291)", () => {
  test("the RFC 8291 section 5 example comes out byte for byte with its salt and sender key pair", async () => {
    const sender = await importEcdhPair(fromBase64url(RFC.asPublic), fromBase64url(RFC.asPrivate));
    const keys = { p256dh: fromBase64url(RFC.uaPublic), auth: fromBase64url(RFC.auth) };
    const body = await encryptPush(text.encode(RFC.plaintext), keys, { sender, salt: fromBase64url(RFC.salt) });
    expect(toBase64url(body)).toBe(RFC.body);
    expect(body.length).toBe(144);
  });

  test("the test's own decrypt opens the RFC's body with the user agent's key, through the RFC's CEK", () => {
    const opened = decryptPush(fromBase64url(RFC.body), fromBase64url(RFC.uaPrivate), fromBase64url(RFC.auth));
    expect(opened.plaintext).toBe(RFC.plaintext);
    expect(toBase64url(opened.cek)).toBe(RFC.cek);
    expect(opened.recordSize).toBe(4096);
  });

  test("a payload round-trips through the subscription's private key, with a fresh sender key and salt", async () => {
    const sub = newSubscriber();
    const payload = JSON.stringify({ room_id: 7, message_id: 42, sender: "ana", preview: "héllo ✓" });
    const first = await encryptPush(text.encode(payload), sub);
    const second = await encryptPush(text.encode(payload), sub);
    const opened = decryptPush(first, sub.privateKey, sub.auth);
    expect(opened.plaintext).toBe(payload);
    expect(opened.recordSize).toBe(RECORD_SIZE);
    expect(opened.asPublic.length).toBe(65);
    expect(opened.asPublic[0]).toBe(4);
    expect(decryptPush(second, sub.privateKey, sub.auth).plaintext).toBe(payload);
    expect(toBase64url(second.subarray(0, 16))).not.toBe(toBase64url(first.subarray(0, 16)));
    expect(toBase64url(second.subarray(21, 86))).not.toBe(toBase64url(first.subarray(21, 86)));
  });

  test("another subscription's keys cannot open the body", async () => {
    const sub = newSubscriber();
    const other = newSubscriber();
    const body = await encryptPush(text.encode("for sub only"), sub);
    expect(() => decryptPush(body, other.privateKey, sub.auth)).toThrow();
    expect(() => decryptPush(body, sub.privateKey, other.auth)).toThrow();
  });

  test("the largest payload makes a 4096-byte body and one byte more is refused", async () => {
    const sub = newSubscriber();
    const largest = "x".repeat(MAX_PLAINTEXT);
    const body = await encryptPush(text.encode(largest), sub);
    expect(body.length).toBe(4096);
    expect(decryptPush(body, sub.privateKey, sub.auth).plaintext).toBe(largest);
    await expect(encryptPush(text.encode(`${largest}x`), sub)).rejects.toThrow(RangeError);
    const empty = await encryptPush(new Uint8Array(0), sub);
    expect(decryptPush(empty, sub.privateKey, sub.auth).plaintext).toBe("");
  });

  test("subscription keys are read only when p256dh is a P-256 point and auth is 16 bytes", async () => {
    const sub = newSubscriber();
    const read = await readSubscriptionKeys(toBase64url(sub.p256dh), toBase64url(sub.auth));
    expect(read && toBase64url(read.p256dh)).toBe(toBase64url(sub.p256dh));
    const offCurve = Uint8Array.from(sub.p256dh);
    offCurve[64] = offCurve[64]! ^ 1;
    const cases: [string, string][] = [
      [toBase64url(offCurve), toBase64url(sub.auth)],
      [toBase64url(sub.p256dh.subarray(0, 64)), toBase64url(sub.auth)],
      [toBase64url(Uint8Array.of(2, ...sub.p256dh.subarray(1))), toBase64url(sub.auth)],
      [toBase64url(sub.p256dh), toBase64url(sub.auth.subarray(0, 15))],
      [toBase64url(sub.p256dh), "not base64!"],
      ["", toBase64url(sub.auth)],
    ];
    for (const [p256dh, auth] of cases) expect(await readSubscriptionKeys(p256dh, auth)).toBeNull();
  });
});

describe("VAPID (RFC 8292)", () => {
  test("keys are a raw uncompressed P-256 point and a 32-byte scalar, both base64url", async () => {
    const keys = await generateVapidKeys();
    const point = fromBase64url(keys.publicKey);
    expect(point.length).toBe(65);
    expect(point[0]).toBe(4);
    expect(fromBase64url(keys.privateKey).length).toBe(32);
    expect(keys.publicKey).toMatch(/^[\w-]{87}$/);
    expect((await generateVapidKeys()).publicKey).not.toBe(keys.publicKey);
  });

  test("the Authorization header carries an ES256 JWT that verifies with k, with aud, exp and sub", async () => {
    const keys = await generateVapidKeys();
    const now = Date.UTC(2026, 11, 6, 9, 0, 0);
    const signer = await createVapidSigner(keys, "mailto:admin@chat.example.org", () => now);
    const auth = parseAuthorization(await signer.authorization("https://push.example.net:8443/wpush/v2/abc?x=1"));
    expect(auth.key).toBe(keys.publicKey);
    expect(auth.head).toEqual({ typ: "JWT", alg: "ES256" });
    expect(auth.claims).toEqual({
      aud: "https://push.example.net:8443",
      exp: now / 1000 + TOKEN_LIFETIME_S,
      sub: "mailto:admin@chat.example.org",
    });
    expect(auth.claims.exp - now / 1000).toBeLessThanOrEqual(24 * 3600);
    expect(verifyToken(auth.signed, auth.signature, auth.key)).toBe(true);
    expect(verifyToken(`${auth.signed}x`, auth.signature, auth.key)).toBe(false);
    const other = await generateVapidKeys();
    expect(verifyToken(auth.signed, auth.signature, other.publicKey)).toBe(false);
  });

  test("a token is reused per origin until an hour before it expires, and each origin has its own", async () => {
    let now = Date.UTC(2026, 11, 6, 9, 0, 0);
    const signer = await createVapidSigner(await generateVapidKeys(), "https://chat.example.org/", () => now);
    const first = parseAuthorization(await signer.authorization("https://fcm.googleapis.com/fcm/send/a"));
    const again = parseAuthorization(await signer.authorization("https://fcm.googleapis.com/fcm/send/b"));
    expect(again.token).toBe(first.token);
    const elsewhere = parseAuthorization(await signer.authorization("https://updates.push.services.mozilla.com/x"));
    expect(elsewhere.claims.aud).toBe("https://updates.push.services.mozilla.com");
    now += (TOKEN_LIFETIME_S - 3600 + 1) * 1000;
    const renewed = parseAuthorization(await signer.authorization("https://fcm.googleapis.com/fcm/send/a"));
    expect(renewed.token).not.toBe(first.token);
    expect(renewed.claims.exp).toBe(Math.floor(now / 1000) + TOKEN_LIFETIME_S);
    expect(renewed.claims.sub).toBe("https://chat.example.org/");
  });

  test("a contact that is not a mailto: or https: URI is refused", async () => {
    const keys = await generateVapidKeys();
    for (const contact of ["admin@example.org", "http://example.org", "mailto:", "", "ftp://x"]) {
      await expect(createVapidSigner(keys, contact, Date.now)).rejects.toThrow("VAPID contact");
    }
  });
});

const STRICT: EndpointOptions = { allowLoopback: false };
const LOOPBACK: EndpointOptions = { allowLoopback: true };

describe("push endpoints", () => {
  // [endpoint, options, expected refusal or "ok"]
  const table: [string, EndpointOptions, string][] = [
    ["https://fcm.googleapis.com/fcm/send/abc", STRICT, "ok"],
    ["https://updates.push.services.mozilla.com:443/wpush/v2/x", STRICT, "ok"],
    ["https://8.8.8.8/push", STRICT, "ok"],
    ["https://[2606:4700::1111]/push", STRICT, "ok"],
    ["http://fcm.googleapis.com/fcm/send/abc", STRICT, "not_https"],
    ["ftp://push.example.com/x", STRICT, "not_https"],
    ["not a url", STRICT, "invalid_url"],
    [`https://push.example.com/${"a".repeat(2048)}`, STRICT, "invalid_url"],
    ["https://user:pw@push.example.com/x", STRICT, "credentials"],
    ["https://localhost/x", STRICT, "not_public"],
    ["https://push.localhost./x", STRICT, "not_public"],
    ["https://127.0.0.1/x", STRICT, "not_public"],
    ["https://0x7f.1/x", STRICT, "not_public"],
    ["https://2130706433/x", STRICT, "not_public"],
    ["https://10.1.2.3/x", STRICT, "not_public"],
    ["https://172.16.0.1/x", STRICT, "not_public"],
    ["https://172.31.255.255/x", STRICT, "not_public"],
    ["https://172.32.0.1/x", STRICT, "ok"],
    ["https://192.168.1.1/x", STRICT, "not_public"],
    ["https://169.254.169.254/latest/meta-data", STRICT, "not_public"],
    ["https://100.64.0.1/x", STRICT, "not_public"],
    ["https://100.128.0.1/x", STRICT, "ok"],
    ["https://0.0.0.0/x", STRICT, "not_public"],
    ["https://224.0.0.1/x", STRICT, "not_public"],
    ["https://255.255.255.255/x", STRICT, "not_public"],
    ["https://[::1]/x", STRICT, "not_public"],
    ["https://[::]/x", STRICT, "not_public"],
    ["https://[fd00::1]/x", STRICT, "not_public"],
    ["https://[fc00::1]/x", STRICT, "not_public"],
    ["https://[fe80::1]/x", STRICT, "not_public"],
    ["https://[ff02::1]/x", STRICT, "not_public"],
    ["https://[::ffff:127.0.0.1]/x", STRICT, "not_public"],
    ["https://[::ffff:10.0.0.1]/x", STRICT, "not_public"],
    ["https://[::ffff:169.254.169.254]/x", STRICT, "not_public"],
    ["https://[::ffff:8.8.8.8]/x", STRICT, "ok"],
    ["https://[64:ff9b::192.168.0.1]/x", STRICT, "not_public"],
    ["https://[2002:c0a8:0101::1]/x", STRICT, "not_public"],
    ["http://127.0.0.1:8080/push/1", STRICT, "not_https"],
    ["http://127.0.0.1:8080/push/1", LOOPBACK, "ok"],
    ["http://127.1.2.3/push/1", LOOPBACK, "ok"],
    ["https://127.0.0.1/push/1", LOOPBACK, "ok"],
    ["http://10.0.0.1/push/1", LOOPBACK, "not_https"],
    ["https://10.0.0.1/push/1", LOOPBACK, "not_public"],
    ["https://[::1]/push/1", LOOPBACK, "not_public"],
    ["https://[::ffff:127.0.0.1]/push/1", LOOPBACK, "not_public"],
    ["http://localhost:8080/push/1", LOOPBACK, "not_https"],
    ["http://[::1]:8080/push/1", LOOPBACK, "not_https"],
  ];
  for (const [endpoint, options, want] of table) {
    const mode = options.allowLoopback ? "with loopback allowed" : "by default";
    test(`${endpoint.slice(0, 60)} is ${want === "ok" ? "accepted" : `refused (${want})`} ${mode}`, () => {
      const checked = checkEndpoint(endpoint, options);
      expect(checked.ok ? "ok" : checked.reason).toBe(want);
    });
  }

  test("each non-public range is named, and public addresses have no reason", () => {
    const reasons: [string, string | null][] = [
      ["127.0.0.1", "loopback"],
      ["10.0.0.1", "private"],
      ["100.127.255.255", "shared (CGNAT)"],
      ["169.254.0.1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["fd12:3456::1", "unique local (private)"],
      ["::ffff:192.168.0.1", "private (IPv4-mapped)"],
      ["::ffff:c0a8:1", "private (IPv4-mapped)"],
      ["2002:0a00:0001::", "private (6to4)"],
      ["::", "unspecified"],
      ["::7f00:1", "IPv4-compatible (deprecated)"],
      ["ff05::2", "multicast"],
      ["1.1.1.1", null],
      ["2001:4860:4860::8888", null],
      ["2002:0808:0808::", null],
      ["push.example.com", "not an IP address"],
      ["1:2:3:4:5:6:7:8:9", "not an IP address"],
      ["1::2::3", "not an IP address"],
      ["256.1.1.1", "not an IP address"],
    ];
    for (const [address, reason] of reasons) expect([address, nonPublicReason(address)]).toEqual([address, reason]);
  });

  const lookupTable =
    (answers: Record<string, string[]>): Lookup =>
    async (host) => {
      const found = answers[host];
      if (!found) throw new Error(`ENOTFOUND ${host}`);
      return found;
    };
  const dns = lookupTable({
    "push.example.com": ["93.184.216.34", "2606:2800:220:1::1"],
    "rebind.example.com": ["93.184.216.34", "10.0.0.5"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "loop.example.com": ["127.0.0.1"],
    "empty.example.com": [],
  });

  test("at send time every address the host resolves to must be public", async () => {
    const ok = await checkEndpointAtSend("https://push.example.com/x", STRICT, dns);
    expect(ok.ok && ok.addresses).toEqual(["93.184.216.34", "2606:2800:220:1::1"]);
    const cases: [string, EndpointOptions, string][] = [
      ["https://rebind.example.com/x", STRICT, "not_public"],
      ["https://mapped.example.com/x", STRICT, "not_public"],
      ["https://mapped.example.com/x", LOOPBACK, "not_public"],
      ["https://loop.example.com/x", STRICT, "not_public"],
      ["https://loop.example.com/x", LOOPBACK, "ok"],
      ["https://empty.example.com/x", STRICT, "unresolved"],
      ["https://nowhere.example.com/x", STRICT, "unresolved"],
      ["http://push.example.com/x", STRICT, "not_https"],
      ["https://10.0.0.1/x", STRICT, "not_public"],
    ];
    for (const [endpoint, options, want] of cases) {
      const checked = await checkEndpointAtSend(endpoint, options, dns);
      expect([endpoint, checked.ok ? "ok" : checked.reason]).toEqual([endpoint, want]);
    }
    const refused = await checkEndpointAtSend("https://rebind.example.com/x", STRICT, dns);
    expect(!refused.ok && refused.detail).toBe("rebind.example.com resolves to 10.0.0.5: private");
  });

  test("an address literal is not looked up, and Bun's DNS resolves names by default", async () => {
    const never: Lookup = () => Promise.reject(new Error("looked up"));
    const literal = await checkEndpointAtSend("http://127.0.0.1:9/push", LOOPBACK, never);
    expect(literal.ok && literal.addresses).toEqual(["127.0.0.1"]);
    const resolved = await checkEndpointAtSend("https://localhost:9/push", LOOPBACK);
    expect(resolved.ok && resolved.addresses).toContain("127.0.0.1");
    const strict = await checkEndpointAtSend("https://localhost:9/push", STRICT);
    expect(strict.ok ? "ok" : strict.reason).toBe("not_public");
  });
});
