// Retention (issue 19), on either store: --retention and each room's own (PUT /v1/rooms/:id/settings) delete old
// messages with their files, search entries, reactions, mentions and unread counts, in rounds of the sweep that
// the test clock drives; a resume from before the kept history gets resync; two instances delete once.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import type { Config } from "../lib/config.ts";
import { openStorage } from "../lib/files/open.ts";
import { storageKey } from "../lib/files/storage.ts";
import { startWithAdmin } from "./support/admin.ts";
import { checkedFetch } from "./support/contract.ts";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { LogSink } from "./support/log.ts";
import { dropDatabase, freshDatabase, opensSqliteFile, STORE } from "./support/postgres.ts";
import { type StartOptions, startServer, type TestServer } from "./support/server.ts";
import { storages } from "./support/s3.ts";
import { chatUrl, openStream, Socket, sendAll, streamUrl } from "./support/socket.ts";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const STORAGES = await storages();

type Running = { s: TestServer; log: LogSink };
let running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.s.stop()));
  running = [];
});

// A server with a day's retention (unless config says otherwise), its debug log kept, its clock frozen.
async function start(config: Partial<Config> = {}, options: StartOptions = {}): Promise<Running> {
  const log = new LogSink();
  const s = await startServer({
    ...options,
    config: { logLevel: "debug", retention: 86400, ...config },
    log: log.write,
  });
  s.clock.freeze();
  const r = { s, log };
  running.push(r);
  return r;
}

// Moves the clock past the next sweep and waits for it to end: how many messages it deleted.
async function sweep({ s, log }: Running, ms: number): Promise<number> {
  const from = log.lines.length;
  s.clock.advance(ms);
  const line = await log.next((l) => l.includes("retention swept"), from, 10_000);
  return Number(/count=(\d+)/.exec(line)![1]);
}

const get = (s: TestServer, who: Account, path: string) => call(s.url, "GET", path, { session: who.session });
const texts = async (s: TestServer, who: Account, room: number, query = "") =>
  (await get(s, who, `/v1/rooms/${room}/messages${query}`)).body.map((m: any) => m.text);
const summary = async (s: TestServer, who: Account, room: number) =>
  (await get(s, who, "/v1/rooms")).body.find((r: any) => r.id === room);
const setRetention = (s: TestServer, who: Account, room: number, retention: unknown) =>
  call(s.url, "PUT", `/v1/rooms/${room}/settings`, { session: who.session, body: { retention } });

async function group(s: TestServer, owner: Account, members: Account[]): Promise<number> {
  const r = await call(s.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { name: "Team", users: members.map((m) => ({ id: m.id })) },
  });
  expect(r.status).toBe(200);
  return r.body.id;
}

async function upload(s: TestServer, who: Account, room: number, name: string, body: string) {
  const r = await checkedFetch(`${s.url}/v1/rooms/${room}/files?name=${name}`, {
    method: "POST",
    headers: { "x-session-id": who.session },
    body,
  });
  expect(r.status).toBe(200);
  return (await r.json()) as { id: string; url: string };
}

// One frame on a socket and its ack.
async function send(sock: Socket, frame: Record<string, unknown>) {
  const client_id = crypto.randomUUID();
  sock.send({ ...frame, client_id });
  return sock.next((f) => f.client_id === client_id);
}

async function metric(s: TestServer): Promise<number> {
  const body = (await call<string>(s.url, "GET", "/metrics")).body;
  return Number(/^echat_retention_deleted_total (\d+)$/m.exec(body)![1]);
}

async function markRead(s: TestServer, who: Account, room: number, id: number) {
  const sock = await Socket.open(chatUrl(s, room, who, { events: "read" }));
  sock.send({ type: "read", message_id: id });
  await sock.next((f) => f.type === "read" && f.user_id === who.id);
  await sock.close();
}

for (const storage of STORAGES) {
  test.if(storage.enabled)(
    `messages past the server's retention go (${storage.name}): from history, search and the room list, with their files, reactions, mentions and unread counts`,
    async () => {
      const stored = await storage.start();
      try {
        const r = await start(stored.config, { env: stored.env });
        const { s } = r;
        const [ann, ben, cat] = [
          await register(s.url, "ann"),
          await register(s.url, "ben"),
          await register(s.url, "cat"),
        ];
        const room = await group(s, ann, [ben, cat]);
        const sock = await Socket.open(chatUrl(s, room, ann));
        const benSock = await Socket.open(chatUrl(s, room, ben));
        const file = await upload(s, ann, room, "old.txt", "the old bytes");
        const old = [
          await send(sock, { text: "zebraalpha first" }),
          await send(sock, { text: "", files: [file.id] }),
          await send(sock, { text: "@cat @ben look" }),
          await send(benSock, { text: "from ben, old" }),
        ];
        const thumbs = encodeURIComponent("👍");
        const react = (m: any) =>
          call(s.url, "PUT", `/v1/rooms/${room}/messages/${m.id}/reactions/${thumbs}`, { session: ben.session });
        expect((await react(old[0])).status).toBe(200);
        await markRead(s, ben, room, old[2].id); // ben has read the first three
        s.clock.advance(12 * HOUR);
        const fresh = [
          await send(sock, { text: "bravo fresh", reply_to: old[0].id }),
          await send(sock, { text: "@cat now" }),
          await send(benSock, { text: "from ben, new" }),
        ];
        expect((await react(fresh[0])).status).toBe(200);
        await Promise.all([sock.close(), benSock.close()]);
        expect(await summary(s, cat, room)).toMatchObject({ unread: 7, mentions: 2 });
        expect(await summary(s, ben, room)).toMatchObject({ unread: 2, mentions: 0 });
        expect(await sweep(r, 11 * HOUR)).toBe(0); // 23 hours: nothing is a day old

        expect(await sweep(r, 2 * HOUR)).toBe(4);
        expect(await texts(s, ben, room)).toEqual(["bravo fresh", "@cat now", "from ben, new"]);
        expect(await texts(s, ben, room, `?before=${fresh[0].id}`)).toEqual([]);
        const history = (await get(s, ben, `/v1/rooms/${room}/messages`)).body;
        expect(history[0]).toMatchObject({ reply_to: old[0].id, reactions: [{ emoji: "👍", user_ids: [ben.id] }] });
        expect((await get(s, ben, "/v1/search?q=zebraalpha")).body.results).toEqual([]);
        expect((await get(s, ben, "/v1/search?q=bravo")).body.results).toHaveLength(1);
        expect(await summary(s, cat, room)).toMatchObject({
          unread: 3,
          mentions: 1,
          last_message: { text: "from ben, new" },
        });
        expect(await summary(s, ben, room)).toMatchObject({ unread: 2, mentions: 0 });
        expect(await summary(s, ann, room)).toMatchObject({ unread: 1, mentions: 0 });
        // The file: its URL and a member's session download answer 404, its bytes are gone from the storage.
        expect((await checkedFetch(new URL(file.url, s.url).href)).status).toBe(404);
        const storageOf = openStorage({ db: s.db, filesDir: "", filesS3: stored.config.filesS3 ?? "" }, stored.env);
        expect(await storageOf.exists(storageKey(file.id))).toBe(false);
        expect(await metric(s)).toBe(4);

        // A day after the fresh ones: the room is empty, its counts zero, and the room stays.
        expect(await sweep(r, 12 * HOUR)).toBe(3);
        expect(await texts(s, ben, room)).toEqual([]);
        expect(await summary(s, cat, room)).toMatchObject({ unread: 0, mentions: 0, last_message: null });
        const after = await Socket.open(chatUrl(s, room, cat));
        expect((await send(after, { text: "still here" })).text).toBe("still here");
        await after.close();
        expect(await summary(s, ann, room)).toMatchObject({ unread: 1, last_message: { text: "still here" } });
        expect(await metric(s)).toBe(7);
      } finally {
        await Promise.all(running.map((x) => x.s.stop()));
        running = [];
        await stored.stop();
      }
    },
  );
}

test("the deleted texts are in neither the SQLite file nor its WAL", async () => {
  if (!opensSqliteFile("the retention erasure test")) return;
  const r = await start();
  const [ann, ben] = [await register(r.s.url, "ann"), await register(r.s.url, "ben")];
  const room = await createRoom(r.s.url, ann, [ben]);
  const secret = `quokkasecret${crypto.randomUUID().slice(0, 8)}`;
  const sock = await Socket.open(chatUrl(r.s, room, ann));
  await sendAll(sock, [`${secret} once`]);
  r.s.clock.advance(2 * DAY);
  await sendAll(sock, ["kept"]);
  await sock.close();
  const files = [r.s.db, `${r.s.db}-wal`].filter((f) => existsSync(f));
  expect(files.some((f) => readFileSync(f).includes(secret))).toBe(true);
  expect(await sweep(r, HOUR)).toBe(1);
  for (const f of files)
    expect({ f, found: existsSync(f) && readFileSync(f).includes(secret) }).toEqual({ f, found: false });
  expect(await texts(r.s, ben, room)).toEqual(["kept"]);
});

test("a room's own retention: 0 keeps everything, a shorter one deletes sooner, null is the server's again", async () => {
  const r = await start();
  const { s } = r;
  const [ann, ben] = [await register(s.url, "ann"), await register(s.url, "ben")];
  const keep = await group(s, ann, [ben]);
  const short = await group(s, ann, [ben]);
  const plain = await group(s, ann, [ben]);
  expect((await setRetention(s, ann, keep, 0)).body).toEqual({ notify: "mentions", retention: 0 });
  expect((await setRetention(s, ann, short, 3600)).body).toEqual({ notify: "mentions", retention: 3600 });
  for (const room of [keep, short, plain]) {
    const sock = await Socket.open(chatUrl(s, room, ann));
    await sendAll(sock, ["one", "two"]);
    await sock.close();
  }
  expect(await sweep(r, 2 * HOUR)).toBe(2);
  expect(await texts(s, ben, short)).toEqual([]);
  expect(await texts(s, ben, plain)).toEqual(["one", "two"]);
  expect(await sweep(r, 2 * DAY)).toBe(2);
  expect(await texts(s, ben, plain)).toEqual([]);
  expect(await texts(s, ben, keep)).toEqual(["one", "two"]);
  // Back to the server's day.
  expect((await setRetention(s, ann, keep, null)).body).toEqual({ notify: "mentions", retention: null });
  expect(await sweep(r, HOUR)).toBe(2);
  expect(await texts(s, ben, keep)).toEqual([]);
});

test("with --retention off only rooms with their own retention are swept", async () => {
  const r = await start({ retention: 0 });
  const [ann, ben] = [await register(r.s.url, "ann"), await register(r.s.url, "ben")];
  const own = await group(r.s, ann, [ben]);
  const other = await group(r.s, ann, [ben]);
  expect((await setRetention(r.s, ann, own, 7200)).status).toBe(200);
  for (const room of [own, other]) {
    const sock = await Socket.open(chatUrl(r.s, room, ann));
    await sendAll(sock, ["x"]);
    await sock.close();
  }
  expect(await sweep(r, 20 * DAY)).toBe(1);
  expect(await texts(r.s, ben, other)).toEqual(["x"]);
});

test("a long sweep goes in rounds of at most 100 messages while new messages keep being stored", async () => {
  const r = await start();
  const [ann, ben] = [await register(r.s.url, "ann"), await register(r.s.url, "ben")];
  const room = await createRoom(r.s.url, ann, [ben]);
  const sock = await Socket.open(chatUrl(r.s, room, ann));
  await sendAll(
    sock,
    Array.from({ length: 250 }, (_, i) => `old ${i}`),
  );
  const from = r.log.lines.length;
  r.s.clock.advance(2 * DAY);
  // Sent while the sweep runs (it starts within a second): stored and kept.
  const during = [];
  while (!r.log.lines.slice(from).some((l) => l.includes("retention swept"))) {
    during.push(...(await sendAll(sock, ["during"])));
  }
  await sock.close();
  const rounds = r.log.lines
    .slice(from)
    .filter((l) => l.includes("retention round"))
    .map((l) => Number(/count=(\d+)/.exec(l)![1]));
  expect(rounds.reduce((a, b) => a + b, 0)).toBe(250);
  expect(rounds.length).toBeGreaterThanOrEqual(3);
  expect(Math.max(...rounds)).toBeLessThanOrEqual(100);
  expect(await metric(r.s)).toBe(250);
  const kept: number[] = [];
  for (;;) {
    const page = (await get(r.s, ben, `/v1/rooms/${room}/messages?limit=200&after=${kept.at(-1) ?? 0}`)).body;
    if (page.length === 0) break;
    kept.push(...page.map((m: { id: number }) => m.id));
  }
  expect(kept).toEqual(during.map((m) => m.id));
  expect(await summary(r.s, ben, room)).toMatchObject({ unread: during.length });
});

describe("setting a room's retention", () => {
  test("the owner or an admin; members are told with a room frame; GET shows it", async () => {
    const { s, admin } = await startWithAdmin({ config: { retention: 86400 } });
    running.push({ s, log: new LogSink() });
    const [ann, ben] = [await register(s.url, "ann"), await register(s.url, "ben")];
    const room = await group(s, ann, [ben, admin]);
    const direct = await createRoom(s.url, ann, [ben, admin]);
    const watching = await Socket.open(chatUrl(s, room, ben, { events: "members" }));
    expectError(await setRetention(s, ben, room, 3600), 403, "forbidden");
    expect((await setRetention(s, ann, room, 3600)).status).toBe(200);
    expect(await watching.next((f) => f.type === "room")).toMatchObject({
      type: "room",
      room_id: room,
      room: { retention: 3600 },
      by: ann.id,
    });
    expect((await setRetention(s, admin, room, 30 * 86400)).body).toEqual({ notify: "mentions", retention: 2592000 });
    expect((await get(s, ben, `/v1/rooms/${room}`)).body.retention).toBe(2592000);
    expect((await summary(s, ben, room)).retention).toBe(2592000);
    // The same value again changes nothing and stores no event.
    const seq = (await get(s, ben, `/v1/rooms/${room}`)).body.seq;
    expect((await setRetention(s, admin, room, 2592000)).status).toBe(200);
    expect((await get(s, ben, `/v1/rooms/${room}`)).body.seq).toBe(seq);
    await watching.close();
    // A direct room has no owner: an admin only.
    expectError(await setRetention(s, ann, direct, 3600), 403, "forbidden");
    expect((await setRetention(s, admin, direct, 0)).body).toEqual({ notify: "all", retention: 0 });
    // Both keys at once: each is applied.
    const both = await call(s.url, "PUT", `/v1/rooms/${room}/settings`, {
      session: ann.session,
      body: { notify: "none", retention: null },
    });
    expect(both.body).toEqual({ notify: "none", retention: null });
  });

  test("bad values are invalid_retention; a non-member gets room_not_found; nothing changes", async () => {
    const r = await start();
    const { s } = r;
    const [ann, ben, eve] = [await register(s.url, "ann"), await register(s.url, "ben"), await register(s.url, "eve")];
    const room = await group(s, ann, [ben]);
    for (const bad of [3599, 1, -1, 1.5, "3600", true, {}, [3600], 3153600001, 2 ** 60]) {
      expectError(await setRetention(s, ann, room, bad), 422, "invalid_retention");
    }
    expectError(await setRetention(s, eve, room, 3600), 422, "room_not_found");
    // A bad notify beside a good retention: nothing is applied.
    const mixed = await call(s.url, "PUT", `/v1/rooms/${room}/settings`, {
      session: ann.session,
      body: { notify: "loud", retention: 3600 },
    });
    expectError(mixed, 422, "invalid_notify");
    expect((await get(s, ann, `/v1/rooms/${room}`)).body.retention).toBeNull();
    expect((await setRetention(s, ann, room, 3600)).status).toBe(200);
    expect((await setRetention(s, ann, room, 3153600000)).status).toBe(200);
  });
});

describe("a resume from before the kept history", () => {
  // A room with two old messages and a reaction, two kept ones, after the sweep.
  async function cutRoom() {
    const r = await start();
    const [ann, ben] = [await register(r.s.url, "ann"), await register(r.s.url, "ben")];
    const room = await createRoom(r.s.url, ann, [ben]);
    const sock = await Socket.open(chatUrl(r.s, room, ann));
    const old = await sendAll(sock, ["old 1", "old 2"]);
    r.s.clock.advance(2 * DAY);
    const kept = await sendAll(sock, ["new 1", "new 2"]);
    await sock.close();
    // An edit of an old message after the kept ones: its event outlives the message it names.
    const edit = { session: ann.session, body: { text: "old 1, edited" } };
    expect((await call(r.s.url, "PATCH", `/v1/rooms/${room}/messages/${old[0].id}`, edit)).status).toBe(200);
    expect(await sweep(r, HOUR)).toBe(2);
    return { ...r, ann, ben, room, old, kept };
  }

  test("a room socket by seq gets resync; from the kept history's start it replays what is kept", async () => {
    const { s, ann, ben, room, old, kept } = await cutRoom();
    const before = await Socket.open(chatUrl(s, room, ben, { after: old[0].seq, events: "members,changes" }));
    expect(await before.next()).toEqual({ type: "resync", room_id: room });
    await before.close();
    const zero = await Socket.open(chatUrl(s, room, ben, { after: 0, events: "members" }));
    expect(await zero.next()).toEqual({ type: "resync", room_id: room });
    await zero.close();
    // The edit of a deleted message is not replayed (there is nothing to show): the replay goes live after it.
    const from = await Socket.open(chatUrl(s, room, ben, { after: old[1].seq, events: "members,changes" }));
    expect((await from.take(2)).map((f) => f.text)).toEqual(["new 1", "new 2"]);
    const live = await Socket.open(chatUrl(s, room, ann));
    await sendAll(live, ["live"]);
    await live.close();
    expect(await from.next()).toMatchObject({ type: "message", text: "live" });
    await from.close();
    expect(kept[0].seq).toBe(old[1].seq + 1);
  });

  test("a plain room socket by id gets resync from a deleted id; after=0 and a kept id replay what is kept", async () => {
    const { s, ben, room, old, kept } = await cutRoom();
    const before = await Socket.open(chatUrl(s, room, ben, { after: old[1].id }));
    expect(await before.next()).toEqual({ type: "resync", room_id: room });
    await before.close();
    for (const after of [0, kept[0].id]) {
      const sock = await Socket.open(chatUrl(s, room, ben, { after }));
      const want = after === 0 ? ["new 1", "new 2"] : ["new 2"];
      expect((await sock.take(want.length)).map((f) => f.text)).toEqual(want);
      await sock.close();
    }
  });

  test("the user stream sends resync with the room's seq for a seq before the cut, and replays after it", async () => {
    const { s, ben, room, old, kept } = await cutRoom();
    const stream = await openStream(streamUrl(s, ben));
    await stream.next((f) => f.type === "hello");
    stream.send({ type: "resume", rooms: { [room]: old[0].seq } });
    expect(await stream.next()).toEqual({ type: "resync", room_id: room, seq: kept[1].seq + 1 }); // the edit's
    expect(await stream.next()).toEqual({ type: "synced" });
    await stream.close();
    const again = await openStream(streamUrl(s, ben));
    await again.next((f) => f.type === "hello");
    again.send({ type: "resume", rooms: { [room]: kept[0].seq } });
    expect(await again.next()).toMatchObject({ type: "message", text: "new 2" });
    expect(await again.next()).toEqual({ type: "synced" });
    await again.close();
  });
});

test.skipIf(STORE !== "postgres")(
  "two instances on one PostgreSQL database delete each message once, in rounds of at most 100",
  async () => {
    const databaseUrl = await freshDatabase();
    try {
      const [a, b] = await Promise.all([start({ databaseUrl }), start({ databaseUrl })]);
      const [ann, ben] = [await register(a.s.url, "ann"), await register(a.s.url, "ben")];
      const room = await createRoom(a.s.url, ann, [ben]);
      const sock = await Socket.open(chatUrl(a.s, room, ann));
      await sendAll(
        sock,
        Array.from({ length: 450 }, (_, i) => `m${i}`),
      );
      await sock.close();
      a.s.clock.advance(2 * DAY);
      const counts = await Promise.all([sweep(a, HOUR), sweep(b, 2 * DAY + HOUR)]);
      expect(counts[0] + counts[1]).toBe(450);
      expect((await metric(a.s)) + (await metric(b.s))).toBe(450);
      expect(await texts(b.s, ben, room)).toEqual([]);
      const rounds = [...a.log.lines, ...b.log.lines]
        .filter((l) => l.includes("retention round"))
        .map((l) => Number(/count=(\d+)/.exec(l)![1]));
      expect(rounds.length).toBeGreaterThanOrEqual(5);
      expect(Math.max(...rounds)).toBeLessThanOrEqual(100);
    } finally {
      await Promise.all(running.map((x) => x.s.stop()));
      running = [];
      await dropDatabase(databaseUrl);
    }
  },
);
