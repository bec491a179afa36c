// Web Push sending, black-box: a real server (--push-allow-loopback) and an in-test push service that decrypts
// every body with the subscription's private key and verifies the VAPID token against GET /v1/push/key. What
// is pushed (levels, mentions, the sender, who is online, read elsewhere, the preview), the request's headers
// and payload, and what the push service's answers do (404/410, 429 and 5xx with backoff, bounded retries).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { PushPayload } from "../client/index.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { createPushQueue, MAX_PENDING } from "../lib/push/queue.ts";
import type { Message, PushNews, Store } from "../lib/store/store.ts";
import { upload } from "./support/files.ts";
import { type Account, call, register } from "./support/http.ts";
import { afterUpgradeFrom } from "./support/old-schema.ts";
import { queueRows } from "./support/push-rows.ts";
import { PushService, type Subscriber, verifyVapid } from "./support/push-service.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, openStream, Socket } from "./support/socket.ts";
import { every, waitFor } from "./support/waiting.ts";

const push = new PushService();
afterAll(() => push.stop());

let n = 0;
const user = (t: TestServer, login: string) => register(t.url, `${login}${n++}`);

async function group(t: TestServer, owner: Account, members: Account[]) {
  const r = await call(t.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { name: "Team", users: members.map((m) => ({ id: m.id })) },
  });
  return r.body.id as number;
}
async function direct(t: TestServer, a: Account, b: Account) {
  const r = await call(t.url, "POST", "/v1/rooms", { session: a.session, body: { users: [{ id: b.id }] } });
  return r.body.id as number;
}

// The payload of the first unread message `m` of a direct room from `sender`, without its text.
const directPayload = (room: number, m: { id: number; seq: number }, sender: Account) => ({
  type: "message" as const,
  room_id: room,
  message_id: m.id,
  seq: m.seq,
  sender: sender.login,
  room_name: null,
  mention: false,
  unread: 1,
});

// ann and bob in a direct room, bob away with one subscription.
async function awayPair(t: TestServer) {
  const [ann, bob] = [await user(t, "ann"), await user(t, "bob")];
  const room = await direct(t, ann, bob);
  return { ann, bob, room, sub: await push.subscribe(t.url, bob) };
}
const setLevel = (t: TestServer, who: Account, room: number, notify: string) =>
  call(t.url, "PUT", `/v1/rooms/${room}/settings`, { session: who.session, body: { notify } });

// A message sent over a room socket, once stored (its own echo); the socket closes after.
async function say(t: TestServer, who: Account, room: number, text: string, extra: object = {}): Promise<any> {
  const ws = await Socket.open(chatUrl(t, room, who));
  ws.send({ text, ...extra });
  const m = await ws.next((f) => f.text === text && f.user_id === who.id);
  await ws.close();
  return m;
}

// The /metrics value of a series (0 when absent).
async function metric(t: TestServer, series: string): Promise<number> {
  const body = (await call<string>(t.url, "GET", "/metrics")).body;
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
const metricReaches = (t: TestServer, series: string, value: number) =>
  waitFor(
    async () => ((await metric(t, series)) >= value ? true : undefined),
    5000,
    every(20),
    () => `${series} < ${value}`,
  );

const failed = (reason: string) => `echat_push_failed_total{reason="${reason}"}`;

describe("on a server with the defaults", () => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startServer({ config: { pushAllowLoopback: true } });
    const someone = await user(s, "keyreader");
    key = (await call(s.url, "GET", "/v1/push/key", { session: someone.session })).body.key;
  });
  afterAll(() => s.stop());

  // The subscription's nth push, once the server has recorded it as sent; then the gap between two pushes of a
  // room to one subscription (5 s) passes on the server's clock.
  async function sentTo(sub: Subscriber, nth: number) {
    const sent = await metric(s, "echat_push_sent_total");
    const r = await push.nth(sub, nth);
    await metricReaches(s, "echat_push_sent_total", sent + 1);
    s.clock.advance(5000);
    return r;
  }

  test("a direct message reaches the offline member's subscription: decrypted payload, headers, VAPID", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    const sent0 = await metric(s, "echat_push_sent_total");
    const m = await say(s, ann, room, "hello bob");
    const r = await push.nth(sub, 1);
    const payload: PushPayload = r.payload; // the typed client's type
    expect(payload).toEqual({ ...directPayload(room, m, ann), text: "hello bob" });
    expect(r.headers.get("ttl")).toBe("86400");
    expect(r.headers.get("urgency")).toBe("high");
    expect(r.headers.get("topic")).toBe(`r${room}`);
    expect(r.headers.get("content-encoding")).toBe("aes128gcm");
    expect(r.body.length).toBeLessThanOrEqual(4096);
    const claims = verifyVapid(r.headers.get("authorization")!, key);
    expect(claims.aud).toBe(push.origin);
    expect(claims.sub).toBe("mailto:echat@localhost");
    const nowS = s.clock.now() / 1000;
    expect(claims.exp).toBeGreaterThan(nowS);
    expect(claims.exp).toBeLessThanOrEqual(nowS + 24 * 3600);
    await metricReaches(s, "echat_push_sent_total", sent0 + 1);
  });

  test("in a group: nothing by default, a mention is pushed (urgent, mention true), the sender never", async () => {
    const [ann, bob, cat] = [await user(s, "ann"), await user(s, "bob"), await user(s, "cat")];
    const room = await group(s, ann, [bob, cat]);
    const [annSub, bobSub, catSub] = [
      await push.subscribe(s.url, ann),
      await push.subscribe(s.url, bob),
      await push.subscribe(s.url, cat),
    ];
    await say(s, ann, room, "no mention here");
    const m = await say(s, ann, room, `hey @${bob.login}`);
    const r = await push.nth(bobSub, 1);
    expect(r.payload).toMatchObject({ message_id: m.id, room_name: "Team", mention: true, unread: 2 });
    expect(r.headers.get("urgency")).toBe("high");
    // cat's level is mentions: only a message mentioning cat reaches cat; the sender hears nothing of their own.
    const m2 = await say(s, bob, room, `and @${cat.login}`);
    expect((await push.nth(catSub, 1)).payload).toMatchObject({ message_id: m2.id, sender: bob.login, mention: true });
    const m3 = await say(s, bob, room, `@${ann.login} too`);
    expect((await push.nth(annSub, 1)).payload.message_id).toBe(m3.id);
    expect(push.to(bobSub).length).toBe(1);
  });

  test("levels: `all` in a group pushes every message (normal urgency); `none` mutes even a mention", async () => {
    const [ann, bob, cat] = [await user(s, "ann"), await user(s, "bob"), await user(s, "cat")];
    const room = await group(s, ann, [bob, cat]);
    expect((await setLevel(s, bob, room, "all")).status).toBe(200);
    expect((await setLevel(s, cat, room, "none")).status).toBe(200);
    const [bobSub, catSub] = [await push.subscribe(s.url, bob), await push.subscribe(s.url, cat)];
    const m = await say(s, ann, room, `plain, and @${cat.login}`);
    const r = await push.nth(bobSub, 1);
    expect(r.payload).toMatchObject({ message_id: m.id, mention: false });
    expect(r.headers.get("urgency")).toBe("normal");
    // cat, muted, is pushed nothing: after unmuting, the first push cat gets is the next message.
    expect((await setLevel(s, cat, room, "all")).status).toBe(200);
    const m2 = await say(s, ann, room, "after unmuting");
    expect((await push.nth(catSub, 1)).payload.message_id).toBe(m2.id);
  });

  test("a direct room muted with `none` pushes nothing", async () => {
    const [ann, bob] = [await user(s, "ann"), await user(s, "bob")];
    const room = await direct(s, ann, bob);
    await setLevel(s, bob, room, "none");
    const sub = await push.subscribe(s.url, bob);
    await say(s, ann, room, "muted");
    await setLevel(s, bob, room, "all");
    const m = await say(s, ann, room, "unmuted");
    expect((await push.nth(sub, 1)).payload.message_id).toBe(m.id);
  });

  test("a member with a stream or a room socket open is not pushed; once both close, the next message is", async () => {
    const [ann, bob, cat] = [await user(s, "ann"), await user(s, "bob"), await user(s, "cat")];
    const room = await group(s, ann, [bob, cat]);
    for (const who of [bob, cat]) await setLevel(s, who, room, "all");
    const [bobSub, catSub] = [await push.subscribe(s.url, bob), await push.subscribe(s.url, cat)];
    const stream = await openStream(`${s.wsUrl}/v1/stream?session_id=${bob.session}`);
    const sock = await Socket.open(chatUrl(s, room, bob));
    // cat, away, is the witness that each message was queued; between two pushes of a room to one subscription
    // the gap (5 s) passes on the server's clock.
    await say(s, ann, room, "bob is here");
    await sentTo(catSub, 1);
    await stream.close();
    await say(s, ann, room, "bob still has a room socket");
    await sentTo(catSub, 2);
    await sock.close();
    const m = await say(s, ann, room, "bob is away");
    expect((await push.nth(bobSub, 1)).payload.message_id).toBe(m.id);
  });

  test("a burst while the previous push is in flight coalesces into one push of the newest message", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    let release!: () => void;
    push.answer(sub, { status: 201, wait: new Promise<void>((r) => (release = r)) });
    await say(s, ann, room, "first");
    await push.nth(sub, 1);
    let last: any;
    for (let i = 0; i < 5; i++) last = await say(s, ann, room, `burst ${i}`);
    await metricReaches(s, "echat_push_queue", 1);
    const sent = await metric(s, "echat_push_sent_total");
    release();
    await metricReaches(s, "echat_push_sent_total", sent + 1);
    s.clock.advance(5000); // the gap between two pushes of a room to one subscription
    const r = await sentTo(sub, 2);
    expect(r.payload).toMatchObject({ message_id: last.id, text: "burst 4", unread: 6 });
    const m = await say(s, ann, room, "later");
    expect((await push.nth(sub, 3)).payload.message_id).toBe(m.id);
  });

  test("a sent row is kept for the gap: a newer message goes once it passed; with none, nothing and the row goes", async () => {
    const { ann, room, sub } = await awayPair(s);
    const sent = await metric(s, "echat_push_sent_total");
    const first = await say(s, ann, room, "one");
    expect((await push.nth(sub, 1)).payload.message_id).toBe(first.id);
    await metricReaches(s, "echat_push_sent_total", sent + 1);
    expect(await queueRows(s, sub.endpoint)).toMatchObject([{ room, message: first.id, sent: first.id }]);
    const second = await say(s, ann, room, "two");
    const rowHas = (message: number, sentId: number) =>
      waitFor(
        async () => {
          const rows = await queueRows(s, sub.endpoint);
          return rows[0]?.message === message && rows[0].sent === sentId ? true : undefined;
        },
        5000,
        every(20),
      );
    await rowHas(second.id, first.id); // flushed, waiting for the gap
    s.clock.advance(5000);
    expect((await push.nth(sub, 2)).payload.message_id).toBe(second.id);
    await metricReaches(s, "echat_push_sent_total", sent + 2);
    await rowHas(second.id, second.id);
    s.clock.advance(5000); // the gap passed with nothing newer: the row goes, nothing is sent again
    await waitFor(async () => ((await queueRows(s, sub.endpoint)).length === 0 ? true : undefined), 5000, every(20));
    const third = await say(s, ann, room, "three"); // no gap to wait for now
    expect((await push.nth(sub, 3)).payload.message_id).toBe(third.id);
    expect(push.to(sub).map((r) => r.payload.message_id)).toEqual([first.id, second.id, third.id]);
  });

  test("a long text is cut to 200 code points with an ellipsis", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    await say(s, ann, room, "é".repeat(150) + "🙂".repeat(100));
    const { text } = (await push.nth(sub, 1)).payload;
    expect([...text].length).toBe(201);
    expect(text).toBe("é".repeat(150) + "🙂".repeat(50) + "…");
  });

  test("a message with files and no text is previewed by its first file's name in brackets", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    const files = [];
    for (const name of ["photo.jpg", "notes.txt"])
      files.push((await upload(s.url, ann, room, "bytes", { name })).body.id);
    await say(s, ann, room, "", { files });
    expect((await push.nth(sub, 1)).payload.text).toBe("[photo.jpg]");
  });

  test("another 4xx drops the push (counted as rejected); the next message is pushed", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    push.answer(sub, { status: 400 });
    const before = await metric(s, failed("rejected"));
    await say(s, ann, room, "bad request");
    await push.nth(sub, 1);
    await metricReaches(s, failed("rejected"), before + 1);
    const m = await say(s, ann, room, "next");
    expect((await push.nth(sub, 2)).payload.message_id).toBe(m.id);
  });

  test("a push still failing when its message is older than the TTL (24 h) is dropped as expired", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    push.answer(sub, { status: 503, headers: { "retry-after": "86400" } });
    const [retries, expired] = [await metric(s, failed("retry")), await metric(s, failed("expired"))];
    await say(s, ann, room, "stale soon");
    await push.nth(sub, 1);
    await metricReaches(s, failed("retry"), retries + 1);
    s.clock.advance(86_400_000 + 1000);
    await metricReaches(s, failed("expired"), expired + 1);
    const m = await say(s, ann, room, "fresh");
    expect((await push.nth(sub, 2)).payload.message_id).toBe(m.id);
  });

  test("404 and 410 remove the subscription: it is pushed nothing more", async () => {
    for (const status of [404, 410]) {
      const [ann, bob] = [await user(s, "ann"), await user(s, "bob")];
      const room = await direct(s, ann, bob);
      const [gone, kept] = [await push.subscribe(s.url, bob), await push.subscribe(s.url, bob)];
      push.answer(gone, { status });
      const before = await metric(s, failed("gone"));
      await say(s, ann, room, "one");
      await push.nth(gone, 1);
      await push.nth(kept, 1);
      await metricReaches(s, failed("gone"), before + 1);
      s.clock.advance(5000);
      const m = await say(s, ann, room, "two");
      expect((await push.nth(kept, 2)).payload.message_id).toBe(m.id);
      expect(push.to(gone).length).toBe(1);
      // The row is gone: registering the endpoint again makes a fresh subscription.
      const again = await call(s.url, "DELETE", "/v1/push/subscriptions", {
        session: bob.session,
        body: { endpoint: gone.endpoint },
      });
      expect(again.status).toBe(200);
    }
  });

  test("429 with Retry-After is retried once that time has passed, and then sent", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    push.answer(sub, { status: 429, headers: { "retry-after": "30" } });
    const [retries, sent] = [await metric(s, failed("retry")), await metric(s, "echat_push_sent_total")];
    const m = await say(s, ann, room, "slow down");
    await push.nth(sub, 1);
    await metricReaches(s, failed("retry"), retries + 1);
    s.clock.advance(30_000);
    const r = await push.nth(sub, 2);
    expect(r.payload.message_id).toBe(m.id);
    await metricReaches(s, "echat_push_sent_total", sent + 1);
  });

  test("5xx is retried with a growing backoff, five attempts at most, then given up", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    push.answer(sub, ...Array.from({ length: 5 }, () => ({ status: 503 })));
    const [retries, gaveUp] = [await metric(s, failed("retry")), await metric(s, failed("gave_up"))];
    await say(s, ann, room, "unavailable");
    for (let i = 1; i <= 4; i++) {
      await push.nth(sub, i);
      await metricReaches(s, failed("retry"), retries + i);
      s.clock.advance(10_000 * 2 ** (i - 1));
    }
    await push.nth(sub, 5);
    await metricReaches(s, failed("gave_up"), gaveUp + 1);
    s.clock.advance(3_600_000);
    const m = await say(s, ann, room, "back");
    expect((await push.nth(sub, 6)).payload.message_id).toBe(m.id);
  });
});

describe("with --push-delay 60, --push-preview off and --push-contact", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({
      config: { pushAllowLoopback: true, pushDelay: 60, pushPreview: false, pushContact: "mailto:ops@example.org" },
    });
  });
  afterAll(() => s.stop());

  test("a message is pushed only once the delay has passed, without its text, signed with the contact", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    const m = await say(s, ann, room, "secret text");
    await metricReaches(s, "echat_push_queue", 1);
    s.clock.advance(60_000);
    const r = await push.nth(sub, 1);
    expect(r.payload).toEqual(directPayload(room, m, ann)); // no text at all
    const key = (await call(s.url, "GET", "/v1/push/key", { session: bob.session })).body.key;
    expect(verifyVapid(r.headers.get("authorization")!, key).sub).toBe("mailto:ops@example.org");
  });

  test("news for a row kept after a push waits the delay too, not only the gap", async () => {
    const { ann, room, sub } = await awayPair(s);
    await say(s, ann, room, "first");
    await metricReaches(s, "echat_push_queue", 1);
    s.clock.advance(60_000);
    await push.nth(sub, 1);
    await waitFor(async () => ((await queueRows(s, sub.endpoint))[0]?.sent ? true : undefined), 5000, every(20));
    s.clock.advance(5_000); // the gap after the push has passed: the kept row is due, with nothing new
    const m = await say(s, ann, room, "second");
    const sentAt = s.clock.now();
    const [row] = await waitFor(
      async () => {
        const rows = await queueRows(s, sub.endpoint);
        return rows[0]?.message === m.id ? rows : undefined;
      },
      5000,
      every(20),
    );
    expect(row!.due).toBeGreaterThanOrEqual(sentAt + 60_000);
    s.clock.advance(60_000);
    expect((await push.nth(sub, 2)).payload.message_id).toBe(m.id);
  });

  test("a message read on another device before the delay is up is not pushed", async () => {
    const { ann, bob, room, sub } = await awayPair(s);
    const first = await say(s, ann, room, "read me elsewhere");
    await waitFor(async () => ((await metric(s, "echat_push_queue")) === 1 ? true : undefined), 5000, every(20));
    const sock = await Socket.open(chatUrl(s, room, bob, { events: "read" }));
    sock.send({ type: "read", message_id: first.id });
    await sock.next((f) => f.type === "read" && f.message_id === first.id);
    await sock.close();
    s.clock.advance(60_000);
    await waitFor(async () => ((await metric(s, "echat_push_queue")) === 0 ? true : undefined), 5000, every(20));
    const m = await say(s, ann, room, "unread one");
    await metricReaches(s, "echat_push_queue", 1);
    s.clock.advance(60_000);
    expect((await push.nth(sub, 1)).payload.message_id).toBe(m.id);
  });
});

test("after the upgrade from version 10, subscriptions are kept and pushed to", async () => {
  await afterUpgradeFrom(
    10,
    async (t) => {
      const [ann, bob] = [await user(t, "ann"), await user(t, "bob")];
      return { ann, bob, room: await direct(t, ann, bob), sub: await push.subscribe(t.url, bob) };
    },
    async (t, { ann, room, sub }: { ann: Account; bob: Account; room: number; sub: Subscriber }) => {
      const m = await say(t, ann, room, "after the upgrade");
      expect((await push.nth(sub, 1)).payload.message_id).toBe(m.id);
    },
    { pushAllowLoopback: true },
  );
});

test("the queue's write failing costs no message: the message is delivered, the loss counted", async () => {
  const wrap = (store: Store): Store => ({
    ...store,
    enqueuePushes: async () => {
      throw new Error("disk full");
    },
  });
  const t = await startServer({ config: { pushAllowLoopback: true }, wrapStore: wrap });
  try {
    const [ann, bob] = [await user(t, "ann"), await user(t, "bob")];
    const room = await direct(t, ann, bob);
    await push.subscribe(t.url, bob);
    const listening = await Socket.open(chatUrl(t, room, ann));
    await say(t, ann, room, "still delivered");
    await listening.next((f) => f.text === "still delivered");
    await metricReaches(t, failed("enqueue"), 1);
    await listening.close();
  } finally {
    await t.stop();
  }
});

test("past 10,000 rooms and mentions waiting for a flush, news is dropped and counted as full", async () => {
  const metrics = createMetrics("test");
  const written: PushNews[][] = [];
  const store = { enqueuePushes: async (news: PushNews[]) => void written.push(news) } as unknown as Store;
  const log = createLogger({ logLevel: "silent", logFormat: "text" });
  const queue = createPushQueue({
    store,
    now: Date.now,
    log,
    metrics,
    delayMs: 0,
    online: () => [],
    flushed: () => {},
  });
  const message = (id: number, roomId: number): Message =>
    ({ id, roomId, userId: 1, text: "", clientId: null, createdAt: 0, seq: id }) as Message;
  for (let i = 1; i <= MAX_PENDING + 5; i++) queue.stored(message(i, i));
  queue.stored(message(MAX_PENDING + 6, 1)); // a room already waiting takes its newer message
  await queue.stop();
  expect(written.flat().length).toBe(MAX_PENDING);
  expect(written.flat().find((n) => n.roomId === 1)?.messageId).toBe(MAX_PENDING + 6);
  expect(await metrics.render()).toContain(`${failed("full")} 5`);
});
