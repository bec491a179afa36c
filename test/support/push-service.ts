// A push service for tests, on loopback (the server runs with --push-allow-loopback): it records every request,
// decrypts its body with the subscription's private key (RFC 8291, with node:crypto, apart from lib/push/ece.ts)
// and verifies its VAPID token (RFC 8292) against the server's public key, as a real push service and browser
// would. Each answer is the next one queued for that endpoint, else 201.
import { createECDH } from "node:crypto";
import { checkPushPayload } from "./contract.ts";
import { call } from "./http.ts";
import { openPush, parseVapid, verifyEs256 } from "./push-decrypt.ts";
import { Changes, waitFor } from "./waiting.ts";

// A browser's subscription: its key pair and auth secret, and the JSON it would POST.
export type Subscriber = { endpoint: string; privateKey: Uint8Array; auth: Uint8Array; json: object };

export function decryptPush(body: Uint8Array, s: Subscriber): string {
  const opened = openPush(body, s.privateKey, s.auth);
  if (opened.recordSize !== 4096) throw new Error("record size is not 4096");
  return opened.plaintext;
}

// The VAPID header checked: the ES256 signature against `key` (the server's, from GET /v1/push/key), k= equal to
// it; returns the claims.
export function verifyVapid(header: string, key: string): { aud: string; exp: number; sub: string } {
  const vapid = parseVapid(header);
  if (vapid.key !== key) throw new Error("k= is not the server's key");
  if (vapid.head.alg !== "ES256") throw new Error("not ES256");
  if (!verifyEs256(vapid.signed, vapid.signature, key)) throw new Error("VAPID signature does not verify");
  return vapid.claims;
}

export type Received = { endpoint: string; path: string; headers: Headers; body: Uint8Array; payload: any };
export type Answer = { status: number; headers?: Record<string, string>; wait?: Promise<void> };

export class PushService {
  readonly received: Received[] = [];
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly answers = new Map<string, Answer[]>();
  private readonly changes = new Changes();
  private readonly server: ReturnType<typeof Bun.serve>;
  private n = 0;
  problem: Error | undefined;

  constructor() {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const url = new URL(req.url);
        const endpoint = `${this.origin}${url.pathname}`;
        const body = new Uint8Array(await req.arrayBuffer());
        const s = this.subscribers.get(endpoint);
        let payload: any;
        try {
          payload = s ? JSON.parse(decryptPush(body, s)) : undefined;
          const problem = s && checkPushPayload(payload);
          if (problem) throw new Error(problem);
        } catch (e) {
          this.problem ??= e as Error;
        }
        this.received.push({ endpoint, path: url.pathname, headers: req.headers, body, payload });
        this.changes.notify();
        const a = this.answers.get(endpoint)?.shift() ?? { status: 201 };
        await a.wait;
        return new Response(a.status >= 400 ? "refused" : null, { status: a.status, headers: a.headers });
      },
    });
  }

  get origin() {
    return `http://127.0.0.1:${this.server.port}`;
  }

  // A browser's subscription to this service.
  subscriber(): Subscriber {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const auth = crypto.getRandomValues(new Uint8Array(16));
    const endpoint = `${this.origin}/push/${++this.n}`;
    const keys = {
      p256dh: Buffer.from(ecdh.getPublicKey()).toString("base64url"),
      auth: Buffer.from(auth).toString("base64url"),
    };
    const s = { endpoint, privateKey: new Uint8Array(ecdh.getPrivateKey()), auth, json: { endpoint, keys } };
    this.subscribers.set(endpoint, s);
    return s;
  }

  // Registers a new subscription for the user's session on the server.
  async subscribe(base: string, who: { session: string }): Promise<Subscriber> {
    const s = this.subscriber();
    const r = await call(base, "POST", "/v1/push/subscriptions", { session: who.session, body: s.json });
    if (r.status !== 200) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
    return s;
  }

  answer(s: Subscriber, ...answers: Answer[]) {
    this.answers.set(s.endpoint, [...(this.answers.get(s.endpoint) ?? []), ...answers]);
  }

  // The requests to this subscription so far.
  to = (s: Subscriber) => this.received.filter((r) => r.endpoint === s.endpoint);

  // Waits until the subscription has had `count` requests; returns the last.
  async nth(s: Subscriber, count: number, timeoutMs = 5000): Promise<Received> {
    return waitFor(
      () => {
        if (this.problem) throw this.problem;
        const mine = this.to(s);
        return mine.length >= count ? mine[count - 1] : undefined;
      },
      timeoutMs,
      this.changes,
      () => `${s.endpoint}: ${this.to(s).length} requests, waited for ${count}`,
    );
  }

  stop() {
    return this.server.stop(true);
  }
}
