// The typed client (client/) against a real server: REST calls with typed results and errors, and the room
// socket's reconnect, resume and exactly-once sends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiError,
  backoffDelay,
  CLOSE_CODES,
  DEFAULT_BACKOFF,
  EchatClient,
  ERROR_CODES,
  type ErrorCode,
  type Message,
  NetworkError,
  type RoomSocket,
  type RoomSocketEvents,
  SocketClosed,
} from "../client/index.ts";
import { CLOSE, ERRORS } from "../lib/errors.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { Changes, waitFor } from "./support/waiting.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

let n = 0;
const unique = (name: string) => `${name}${++n}`;

async function signedUp(name = "user") {
  const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url });
  await c.register(unique(name), "password123");
  const { id, login } = await c.info(); // a user as rooms and search show them: without info's admin flag
  return { c, me: { id, login } };
}

// The rejection of p, which must be an ApiError.
async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe("the client's REST calls", () => {
  test("its error codes are exactly the server's catalogue", () => {
    expect<string[]>([...ERROR_CODES].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  test("register keeps the session and reports it; info and logout use it; logout forgets it", async () => {
    const seen: (string | null)[] = [];
    const c = new EchatClient({
      fetch: checkedFetch,
      WebSocket: CheckedWebSocket,
      baseUrl: s.url,
      onSession: (id) => seen.push(id),
    });
    const login = unique("Вася");
    const { session_id } = await c.register(login, "password123");
    expect(session_id).toMatch(/^[0-9a-f]{40}$/);
    expect(c.session).toBe(session_id);
    expect(await c.info()).toEqual({ id: expect.any(Number), login, admin: false });
    await c.logout();
    expect(c.session).toBeNull();
    expect(seen).toEqual([session_id, null]);
    const again = new EchatClient({
      fetch: checkedFetch,
      WebSocket: CheckedWebSocket,
      baseUrl: s.url,
      session: session_id,
    });
    expect((await apiError(again.info())).code).toBe("unauthorized");
  });

  test("errors are ApiErrors with the status, the documented code and the server's message", async () => {
    const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url });
    const cases: [() => Promise<unknown>, number, ErrorCode][] = [
      [() => c.register("", "password123"), 422, "invalid_login"],
      [() => c.register(unique("short"), "short"), 422, "invalid_password"],
      [() => c.login(unique("nobody"), "password123"), 422, "user_not_found"],
      [() => c.info(), 401, "unauthorized"],
    ];
    for (const [call, status, code] of cases) {
      const e = await apiError(call());
      expect({ status: e.status, code: e.code }).toEqual({ status, code });
      expect(e.message).toBe(ERRORS[code][1]);
    }
    const { c: alice } = await signedUp("alice");
    const more: [() => Promise<unknown>, ErrorCode][] = [
      [() => alice.getRoom(999999), "room_not_found"],
      [() => alice.messages(999999), "room_not_found"],
      [() => alice.createRoom([{ login: unique("ghost") }]), "user_not_found"],
      [() => alice.listRooms({ limit: 0 }), "invalid_query"],
      [() => alice.changePassword("not the password", "password456"), "wrong_credentials"],
    ];
    for (const [call, code] of more) {
      const e = await apiError(call());
      expect({ status: e.status, code: e.code }).toEqual({ status: 422, code });
      expect(e.message.length).toBeGreaterThan(0);
    }
    const room = await alice.createRoom([]);
    expect((await apiError(alice.messages(room.id, { before: 5, after: 1 }))).code).toBe("invalid_query");
  });

  test("a 401 on a call made with a session tells onUnauthorized; one made without does not", async () => {
    let told = 0;
    const stale = new EchatClient({
      fetch: checkedFetch,
      WebSocket: CheckedWebSocket,
      baseUrl: s.url,
      session: "0".repeat(40),
      onUnauthorized: () => told++,
    });
    await apiError(stale.info());
    expect(told).toBe(1);
    const none = new EchatClient({
      fetch: checkedFetch,
      WebSocket: CheckedWebSocket,
      baseUrl: s.url,
      onUnauthorized: () => told++,
    });
    await apiError(none.info());
    expect(told).toBe(1);
  });

  test("a 429 carries Retry-After in seconds", async () => {
    const limited = await startServer({ config: { limits: true, searchesPerMinute: 1 } });
    try {
      const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: limited.url });
      await c.register(unique("searcher"), "password123");
      expect(await c.searchUsers("searcher")).toHaveLength(1);
      const e = await apiError(c.searchUsers("searcher"));
      expect({ status: e.status, code: e.code }).toEqual({ status: 429, code: "rate_limited" });
      expect(e.retryAfter).toBeGreaterThan(0);
      expect(e.retryAfter).toBeLessThanOrEqual(60);
    } finally {
      await limited.stop();
    }
  });

  test("no server to answer is a NetworkError", async () => {
    const gone = await startServer();
    await gone.stop();
    const e = await new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: gone.url })
      .health()
      .catch((e: unknown) => e);
    expect(e).toBeInstanceOf(NetworkError);
  });

  test("the transport answers any status as {status, headers, body} without throwing", async () => {
    const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url });
    const r = await c.request("DELETE", "/v1/info");
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toContain("GET");
    expect(r.body).toEqual({ error: { code: "method_not_allowed", message: expect.any(String) } });
    const raw = await c.request("POST", "/v1/login", { raw: "not json" });
    expect((raw.body as any).error.code).toBe("invalid_json");
  });

  test("rooms: create by id or login, get, list in pages by the Link cursor, and all of them", async () => {
    const { c: alice, me } = await signedUp("alice");
    const { me: bob } = await signedUp("bob");
    const byId = await alice.createRoom([{ id: bob.id }]);
    expect(byId.users).toEqual([me, bob]);
    expect(await alice.createRoom([{ login: bob.login }])).toEqual(byId); // idempotent by member set
    expect(await alice.getRoom(byId.id)).toEqual(byId);
    for (let i = 0; i < 4; i++) await alice.createRoom([{ id: (await signedUp("peer")).me.id }]);
    const first = await alice.listRooms({ limit: 2 });
    expect(first.rooms).toHaveLength(2);
    expect(first.next).toMatch(/^\d+_\d+$/);
    const second = await alice.listRooms({ limit: 2, before: first.next! });
    expect(second.rooms.map((r) => r.id)).not.toContain(first.rooms[0]!.id);
    const all = await alice.allRooms(2);
    expect(all).toHaveLength(5);
    expect(new Set(all.map((r) => r.id)).size).toBe(5);
    expect(all.find((r) => r.id === byId.id)).toMatchObject({ last_message: null, unread: 0 });
  });

  test("setRoomSettings sets the room's retention as its owner, and is refused to other members", async () => {
    const { c: owner } = await signedUp("owner");
    const { c: member, me } = await signedUp("member");
    const room = await owner.createGroup({ name: "Kept", users: [{ id: me.id }] });
    expect(await owner.setRoomSettings(room.id, { retention: 7200 })).toEqual({ notify: "mentions", retention: 7200 });
    expect((await member.getRoom(room.id)).retention).toBe(7200);
    expect((await apiError(member.setRoomSettings(room.id, { retention: 0 }))).code).toBe("forbidden");
    expect((await apiError(owner.setRoomSettings(room.id, { retention: 60 }))).code).toBe("invalid_retention");
  });

  test("users search, health and readiness answer typed", async () => {
    const { c, me } = await signedUp("Searchable");
    expect(await c.searchUsers(me.login.toLowerCase())).toEqual([me]);
    expect(await c.health()).toEqual({ status: "ok" });
    expect(await c.ready()).toEqual({ status: "ok", database: "ok" });
  });
});

// A WebSocket the test can make deaf (frames from the server are lost), mute (frames to it are lost) or drop.
class TapSocket {
  static made: TapSocket[] = [];
  deaf = false;
  mute = false;
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  private ws: WebSocket;
  constructor(url: string) {
    this.ws = new CheckedWebSocket(url);
    this.ws.onopen = (e) => this.onopen?.(e);
    this.ws.onmessage = (e) => void (this.deaf || this.onmessage?.(e));
    this.ws.onclose = (e) => this.onclose?.(e);
    TapSocket.made.push(this);
  }
  get readyState() {
    return this.ws.readyState;
  }
  send(data: string) {
    if (!this.mute) this.ws.send(data);
  }
  close(code?: number, reason?: string) {
    this.ws.close(code, reason);
  }
}
const Tap = TapSocket as unknown as typeof WebSocket;
const lastTap = () => TapSocket.made.at(-1)!;

// Everything a room socket emits, in order, and a wait for the first entry that matches.
function record(sock: RoomSocket) {
  const log: { name: keyof RoomSocketEvents; value: any }[] = [];
  const changes = new Changes();
  for (const name of ["message", "typing", "presence", "read", "resync", "error", "state", "closed"] as const)
    sock.on(name, (value) => {
      log.push({ name, value });
      changes.notify();
    });
  const until = (match: (name: string, value: any) => boolean, ms = 10000) =>
    waitFor(
      () => log.find((e) => match(e.name, e.value))?.value,
      ms,
      changes,
      () => `no event; ${JSON.stringify(log)}`,
    );
  const messages = () => log.filter((e) => e.name === "message").map((e) => e.value as Message);
  return { log, until, messages, state: (s: string) => until((n, v) => n === "state" && v.state === s) };
}

const FAST = { initialMs: 20, maxMs: 200 };

async function pair() {
  const { c: alice, me: a } = await signedUp("alice");
  const { c: bob, me: b } = await signedUp("bob");
  const room = await alice.createRoom([{ id: b.id }]);
  return { alice, bob, a, b, room: room.id };
}

describe("the room socket", () => {
  test("its close codes are exactly the server's, with the same reconnect rule", () => {
    const server = Object.fromEntries(
      Object.values(CLOSE).map((c) => [c.code, { reason: c.reason, reconnect: c.reconnect }]),
    );
    expect(CLOSE_CODES).toEqual(server as any);
  });

  test("send resolves with the stored message; every member gets it once, in id order, the sender too", async () => {
    const { alice, bob, room } = await pair();
    const as = alice.roomSocket(room, { backoff: FAST });
    const bs = bob.roomSocket(room, { backoff: FAST });
    const [ar, br] = [record(as), record(bs)];
    await Promise.all([ar.state("open"), br.state("open")]);
    const sent = await Promise.all(["one", "two", "three"].map((t) => as.send(t)));
    expect(sent.map((m) => m.text)).toEqual(["one", "two", "three"]);
    expect(sent[0]).toEqual({
      id: expect.any(Number),
      text: "one",
      user_id: expect.any(Number),
      room_id: room,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      client_id: expect.any(String),
      seq: expect.any(Number),
    });
    await br.until(() => br.messages().length === 3);
    expect(br.messages()).toEqual(sent);
    expect(ar.messages()).toEqual(sent);
    expect(as.lastId).toBe(sent[2]!.id);
    as.close();
    bs.close();
  });

  test("a send with the client_id of a stored one resolves with that message and is not delivered again", async () => {
    const { alice, room } = await pair();
    const as = alice.roomSocket(room);
    const ar = record(as);
    const first = await as.send("once", { clientId: "same-id" });
    const again = await as.send("once", { clientId: "same-id" });
    expect(again).toEqual(first);
    expect(ar.messages()).toEqual([first]);
    expect((await alice.messages(room)).map((m) => m.text)).toEqual(["once"]);
    as.close();
  });

  test("refused frames reject the send with the frame's ApiError; a frame over 64 KiB is refused before sending", async () => {
    const { alice, room } = await pair();
    const as = alice.roomSocket(room);
    const e = await as.send("   ").catch((e: unknown) => e);
    expect(e).toBeInstanceOf(ApiError);
    expect({ code: (e as ApiError).code, status: (e as ApiError).status }).toEqual({ code: "invalid_text", status: 0 });
    const big = await as.send("x".repeat(70000)).catch((e: unknown) => e);
    expect((big as ApiError).code).toBe("payload_too_large");
    expect(await as.send("still open")).toMatchObject({ text: "still open" });
    as.close();
  });

  test("opted-in events arrive typed: presence on connect, typing from others, read markers", async () => {
    const { alice, bob, a, b, room } = await pair();
    const as = alice.roomSocket(room, { events: ["typing", "presence", "read"] });
    const ar = record(as);
    expect(await ar.until((n) => n === "presence")).toEqual({ type: "presence", room_id: room, online: [a.id] });
    const bs = bob.roomSocket(room, { events: ["typing"] });
    const br = record(bs);
    await br.state("open");
    await ar.until((n, v) => n === "presence" && v.online.length === 2);
    expect(bs.typing()).toBe(true);
    expect(await ar.until((n) => n === "typing")).toEqual({ type: "typing", room_id: room, user_id: b.id });
    const m = await bs.send("seen?");
    expect(as.read(m.id)).toBe(true);
    expect(await ar.until((n) => n === "read")).toEqual({
      type: "read",
      room_id: room,
      user_id: a.id,
      message_id: m.id,
    });
    expect(br.log.some((e) => e.name === "presence" || e.name === "read")).toBe(false); // not opted in
    as.close();
    bs.close();
  });

  test("after the server goes away it reconnects and resumes after the last id: nothing lost, nothing doubled", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port!;
    probe.stop(true);
    const dir = mkdtempSync(join(tmpdir(), "echat-client-"));
    let own = await startServer({ config: { port }, dir });
    try {
      const alice = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: own.url });
      await alice.register("alice", "password123");
      const room = (await alice.createRoom([])).id;
      await alice.roomSocket(room).send("before");
      const as = alice.roomSocket(room, { backoff: FAST }); // starts after "before"
      const ar = record(as);
      await ar.state("open");
      await as.send("first");
      await own.stop();
      await ar.state("reconnecting");
      // Written while the socket cannot connect: the same database served on another port.
      const elsewhere = await startServer({ config: { port: 0 }, dir });
      const other = new EchatClient({
        fetch: checkedFetch,
        WebSocket: CheckedWebSocket,
        baseUrl: elsewhere.url,
        session: alice.session,
      });
      const writer = other.roomSocket(room);
      for (const t of ["meanwhile 1", "meanwhile 2"]) await writer.send(t);
      writer.close();
      await elsewhere.stop();
      own = await startServer({ config: { port }, dir });
      await as.send("after"); // queued while away, sent once connected
      const texts = ar.messages().map((m) => m.text);
      expect(texts).toEqual(["first", "meanwhile 1", "meanwhile 2", "after"]);
      expect((await alice.messages(room)).map((m) => m.text)).toEqual(["before", ...texts]);
      as.close();
    } finally {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a message stored whose ack was lost is acknowledged from the resumed backlog, stored once", async () => {
    const { alice, bob, room } = await pair();
    const as = alice.roomSocket(room, { backoff: FAST, WebSocket: Tap });
    const ar = record(as);
    await ar.state("open");
    const bs = bob.roomSocket(room);
    const br = record(bs);
    await br.state("open");
    lastTap().deaf = true;
    const acked = as.send("ack lost");
    await br.until((n, v) => n === "message" && v.text === "ack lost"); // stored and delivered to bob
    await bs.send("then bob");
    lastTap().close(3000); // the connection dies before alice heard either
    expect((await acked).text).toBe("ack lost");
    await ar.until(() => ar.messages().length === 2);
    expect(ar.messages().map((m) => m.text)).toEqual(["ack lost", "then bob"]);
    expect((await alice.messages(room)).map((m) => m.text)).toEqual(["ack lost", "then bob"]);
    as.close();
    bs.close();
  });

  test("a send lost on the way is sent again once reconnected, and stored exactly once", async () => {
    const { alice, bob, room } = await pair();
    const as = alice.roomSocket(room, { backoff: FAST, WebSocket: Tap });
    const ar = record(as);
    await ar.state("open");
    const bs = bob.roomSocket(room);
    await record(bs).state("open");
    const made = TapSocket.made.length;
    lastTap().mute = true;
    const acked = as.send("lost on the way");
    await bs.send("meanwhile from bob");
    await ar.until((n, v) => n === "message" && v.text === "meanwhile from bob");
    lastTap().close(3000);
    const m = await acked;
    expect(TapSocket.made.length).toBe(made + 1);
    expect(ar.messages().map((x) => x.text)).toEqual(["meanwhile from bob", "lost on the way"]);
    expect((await alice.messages(room)).map((x) => [x.text, x.client_id])).toEqual([
      ["meanwhile from bob", expect.any(String)],
      ["lost on the way", m.client_id],
    ]);
    as.close();
    bs.close();
  });

  test("logged out (4001) ends the socket for good and rejects what is unacknowledged", async () => {
    const { alice, room } = await pair();
    const as = alice.roomSocket(room, { backoff: FAST, WebSocket: Tap });
    const ar = record(as);
    await ar.state("open");
    const made = TapSocket.made.length;
    lastTap().mute = true;
    const pending = as.send("never acknowledged").catch((e: unknown) => e);
    await alice.logout();
    expect(await ar.until((n) => n === "closed")).toEqual({ code: 4001, reason: "logged out" });
    const e = await pending;
    expect(e).toBeInstanceOf(SocketClosed);
    expect((e as SocketClosed).code).toBe(4001);
    await alice.health(); // a round trip later, still no new connection
    expect(TapSocket.made.length).toBe(made);
    expect(ar.log.filter((x) => x.name === "state").at(-1)!.value.state).toBe("closed");
  });

  test("a session that ended while the socket was away ends it at the check before reconnecting", async () => {
    const { alice, room } = await pair();
    const as = alice.roomSocket(room, { backoff: { initialMs: 2000 }, WebSocket: Tap });
    const ar = record(as);
    await ar.state("open");
    lastTap().deaf = true; // it will not hear the 4001
    lastTap().close(3000);
    await ar.state("reconnecting");
    await new EchatClient({
      fetch: checkedFetch,
      WebSocket: CheckedWebSocket,
      baseUrl: s.url,
      session: alice.session,
    }).logout();
    const end = await ar.until((n) => n === "closed");
    expect(end.code).toBe(0);
    expect(end.error).toBeInstanceOf(ApiError);
    expect(end.error.code).toBe("unauthorized");
  });

  test("backoff doubles with jitter and never exceeds its cap while the server is away", async () => {
    const gone = await startServer();
    const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: gone.url });
    await c.register("away", "password123");
    const room = (await c.createRoom([])).id;
    await gone.stop();
    const sock = c.roomSocket(room, { after: 0, backoff: { initialMs: 10, maxMs: 80 } });
    const r = record(sock);
    await r.until((n, v) => n === "state" && v.attempt === 8);
    sock.close();
    const delays = r.log.filter((e) => e.name === "state" && e.value.state === "reconnecting").map((e) => e.value);
    expect(delays.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const [i, d] of delays.entries()) {
      const step = Math.min(80, 10 * 2 ** i);
      expect(d.delayMs).toBeGreaterThanOrEqual(step / 2);
      expect(d.delayMs).toBeLessThanOrEqual(step);
    }
    expect(backoffDelay(30, DEFAULT_BACKOFF, () => 1)).toBe(DEFAULT_BACKOFF.maxMs);
  });
});

test("a message the server could not store (internal_error) is sent again by itself until stored", async () => {
  let failures = 0;
  const flaky = await startServer({
    wrapStore: (store) => ({
      ...store,
      createMessage: (m) =>
        m.text === "flaky" && failures++ < 2 ? Promise.reject(new Error("disk hiccup")) : store.createMessage(m),
    }),
  });
  try {
    const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: flaky.url });
    await c.register("flaky", "password123");
    const room = (await c.createRoom([])).id;
    const sock = c.roomSocket(room, { backoff: FAST });
    const stored = await sock.send("flaky");
    expect(failures).toBe(3);
    expect((await c.messages(room)).map((m) => [m.id, m.text])).toEqual([[stored.id, "flaky"]]);
    sock.close();
  } finally {
    await flaky.stop();
  }
});

test("messagesAfter pages until a short page", async () => {
  const { alice, room } = await pair();
  const sock = alice.roomSocket(room);
  const sent = await Promise.all(Array.from({ length: 7 }, (_, i) => sock.send(`m${i}`)));
  sock.close();
  expect((await alice.messagesAfter(room, sent[1]!.id, 2)).map((m) => m.text)).toEqual(["m2", "m3", "m4", "m5", "m6"]);
  expect(await alice.messagesAfter(room, sent[6]!.id)).toEqual([]);
});

test("the example in docs/client.md runs as written against a real server", async () => {
  const doc = await Bun.file(join(import.meta.dir, "../docs/client.md")).text();
  const example = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)![1]!;
  expect(example.split("\n").length).toBeLessThan(30);
  const dir = mkdtempSync(join(tmpdir(), "echat-example-"));
  try {
    const file = join(dir, "example.ts");
    const client = join(import.meta.dir, "../client/index.ts");
    await Bun.write(file, example.replace("./client/index.ts", client).replace("http://localhost:8080", s.url));
    const run = Bun.spawn([process.execPath, file], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([
      new Response(run.stdout).text(),
      new Response(run.stderr).text(),
      run.exited,
    ]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(/^stored as #\d+; Bob heard: Hello, Bob\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
