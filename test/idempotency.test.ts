// client_id makes a send idempotent: a retry is recognized while its sender has stored fewer than
// 1,000 other messages with a client_id in the room since (the same rule on both stores), across
// restarts, and on databases made by older schema versions.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { POSTGRES_MIGRATIONS } from "../lib/store/postgres/migrations.ts";
import { SQLITE_MIGRATIONS } from "../lib/store/sqlite/migrations.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, opensSqliteFile, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";
import { rewindPostgresTo2, rewindSqliteTo2 } from "./support/old-schema.ts";

// A fresh server with two users who share a room.
async function twoInARoom(first: string, second: string) {
  const server = await startServer();
  const a = await register(server.url, first);
  const b = await register(server.url, second);
  return { server, a, b, room: await createRoom(server.url, a, [b]) };
}

let s: TestServer;
let alice: Account, bob: Account;
let room: number;
beforeAll(async () => {
  ({ server: s, a: alice, b: bob, room } = await twoInARoom("alice", "bob"));
});
afterAll(() => s.stop());

const history = async (t: TestServer) =>
  (await call(t.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: bob.session })).body as any[];

async function send(t: TestServer, who: Account, frame: object, r = room) {
  const sock = await Socket.open(chatUrl(t, r, who));
  sock.send(frame);
  const ack = await sock.next(isMessage);
  await sock.close();
  return ack;
}

describe("idempotent sends", () => {
  test("a retry within the same batch of writes is stored once", async () => {
    const a = await Socket.open(chatUrl(s, room, alice));
    a.send({ text: "twice at once", client_id: "same-batch" });
    a.send({ text: "twice at once", client_id: "same-batch" });
    const [first, second] = await a.take(2, isMessage);
    expect(second).toEqual(first);
    expect((await history(s)).filter((m) => m.client_id === "same-batch").length).toBe(1);
    await a.close();
  });

  test("a retry is recognized after 99 later messages from the same sender in the room", async () => {
    const original = await send(s, alice, { text: "original", client_id: "old-one" });
    const a = await Socket.open(chatUrl(s, room, alice));
    await sendAll(
      a,
      Array.from({ length: 99 }, (_, i) => `later ${i}`),
    ); // sendAll gives each a client_id
    a.send({ text: "original", client_id: "old-one" });
    expect(await a.next((f) => f.client_id === "old-one")).toEqual(original);
    await a.close();
  });

  test("another sender's messages do not push a sender's client_ids out", async () => {
    const original = await send(s, alice, { text: "mine", client_id: "alices" });
    const b = await Socket.open(chatUrl(s, room, bob));
    await sendAll(
      b,
      Array.from({ length: 150 }, (_, i) => `bob ${i}`),
    );
    await b.close();
    expect(await send(s, alice, { text: "mine", client_id: "alices" })).toEqual(original);
  });

  test("a retry after a restart is recognized", async () => {
    const original = await send(s, alice, { text: "before the restart", client_id: "across-restart" });
    s = await s.restart();
    expect(await send(s, alice, { text: "before the restart", client_id: "across-restart" })).toEqual(original);
    expect((await history(s)).filter((m) => m.client_id === "across-restart").length).toBe(1);
  });
});

// A client that queued messages while offline sends them all when it reconnects; when the acks are
// lost on the way back it sends them all again.
async function sendQueued(sock: Socket, frames: { text: string; client_id: string }[]) {
  for (const f of frames) sock.send(f);
  const acks = [];
  for (const f of frames) acks.push(await sock.next((m) => m.client_id === f.client_id, 30_000));
  return acks;
}

async function fullHistory(t: TestServer, r: number, who: Account) {
  const all: any[] = [];
  for (;;) {
    const after = all.at(-1)?.id ?? 0;
    const page = await call(t.url, "GET", `/v1/rooms/${r}/messages?limit=200&after=${after}`, { session: who.session });
    all.push(...page.body);
    if (page.body.length < 200) return all;
  }
}

describe("a client's offline queue of 1,000 messages", () => {
  let t: TestServer;
  let carol: Account, dave: Account;
  let r: number;
  beforeAll(async () => {
    ({ server: t, a: carol, b: dave, room: r } = await twoInARoom("carol", "dave"));
  });
  afterAll(() => t.stop());

  test("sent, then all sent again after reconnecting: each message is stored exactly once", async () => {
    const queued = Array.from({ length: 1000 }, (_, i) => ({ text: `queued ${i}`, client_id: `offline-${i}` }));
    const first = await Socket.open(chatUrl(t, r, carol));
    const stored = await sendQueued(first, queued);
    await first.close(); // the acks never reached the client's queue
    const again = await Socket.open(chatUrl(t, r, carol));
    const retried = await sendQueued(again, queued);
    await again.close();
    expect(retried).toEqual(stored);
    const history = await fullHistory(t, r, dave);
    expect(history.length).toBe(1000);
    expect(history.map((m) => m.id)).toEqual(stored.map((m) => m.id));
    expect(history.map((m) => m.client_id)).toEqual(queued.map((f) => f.client_id));
  }, 60_000);

  test("a connection lost while sending: the retry stores what is missing and nothing twice", async () => {
    const queued = Array.from({ length: 1000 }, (_, i) => ({ text: `lost ${i}`, client_id: `lost-${i}` }));
    const before = (await fullHistory(t, r, dave)).length;
    const first = await Socket.open(chatUrl(t, r, carol));
    for (const f of queued) first.send(f);
    first.ws.close(); // without waiting for a single ack
    await first.closed;
    const again = await Socket.open(chatUrl(t, r, carol));
    const retried = await sendQueued(again, queued);
    await again.close();
    const history = (await fullHistory(t, r, dave)).slice(before);
    expect(history.map((m) => m.client_id).sort()).toEqual(queued.map((f) => f.client_id).sort());
    expect(retried.map((m) => m.id).sort((a, b) => a - b)).toEqual(history.map((m) => m.id));
  }, 60_000);

  test("a client_id is forgotten once its sender stored 1,000 other messages with a client_id in the room", async () => {
    const original = await send(t, carol, { text: "long ago", client_id: "long-ago" }, r);
    const sock = await Socket.open(chatUrl(t, r, carol));
    await sendQueued(
      sock,
      Array.from({ length: 1000 }, (_, i) => ({ text: `since ${i}`, client_id: `since-${i}` })),
    );
    sock.send({ text: "long ago", client_id: "long-ago" });
    const again = await sock.next((m) => m.client_id === "long-ago");
    await sock.close();
    expect(again.id).toBeGreaterThan(original.id);
  }, 60_000);
});

describe("schema migration", () => {
  test.skipIf(!opensSqliteFile("the schema migration test"))(
    "a version 1 database (unique client_id index) is migrated to the current version with its data and retries intact",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "echat-v1-"));
      const t = await startServer({ dir });
      const u = await register(t.url, "carol");
      const v = await register(t.url, "dave");
      const r = await createRoom(t.url, u, [v]);
      const sock = await Socket.open(chatUrl(t, r, u));
      sock.send({ text: "from version 1", client_id: "v1-id" });
      const original = await sock.next(isMessage);
      await sock.close();
      await t.stop();
      // Turn the file back into what version 1 made.
      const db = new Database(`${dir}/echat.db`);
      rewindSqliteTo2(db);
      db.run("DROP INDEX messages_sender");
      db.run(
        "CREATE UNIQUE INDEX messages_client ON messages(room_id, user_id, client_id) WHERE client_id IS NOT NULL",
      );
      db.run("PRAGMA user_version = 1");
      db.close();
      const t2 = await startServer({ dir });
      try {
        const again = await Socket.open(chatUrl(t2, r, u));
        again.send({ text: "from version 1", client_id: "v1-id" });
        expect(await again.next(isMessage)).toEqual(original);
        await again.close();
        const h = await call(t2.url, "GET", `/v1/rooms/${r}/messages`, { session: v.session });
        expect(h.body.map((m: any) => m.id)).toEqual([original.id]);
      } finally {
        await t2.stop();
      }
      const check = new Database(`${dir}/echat.db`, { readonly: true });
      expect(check.query("PRAGMA user_version").get()).toEqual({ user_version: SQLITE_MIGRATIONS.version });
      const indexes = check
        .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'")
        .all();
      expect(indexes.map((i: any) => i.name).sort()).toEqual(["messages_room", "messages_sender"]);
      check.close();
      rmSync(dir, { recursive: true, force: true });
    },
  );

  test.skipIf(!needs("postgresql", TEST_DATABASE_URL !== ""))(
    "a version 1 PostgreSQL database (unique client_id index) is migrated to the current version with its data and retries intact",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "echat-pg1-"));
      const databaseUrl = await freshDatabase(dir);
      const t = await startServer({ config: { databaseUrl }, dir });
      const u = await register(t.url, "erin");
      const v = await register(t.url, "frank");
      const r = await createRoom(t.url, u, [v]);
      const original = await send(t, u, { text: "from version 1", client_id: "pg1-id" }, r);
      await t.stop();
      // Turn the database back into what version 1 made.
      const sql = new SQL({ url: databaseUrl, max: 1 });
      await sql`DROP INDEX messages_client`;
      await sql`DROP INDEX messages_sender`;
      await sql`CREATE UNIQUE INDEX messages_client ON messages(room_id, user_id, client_id) WHERE client_id IS NOT NULL`;
      await rewindPostgresTo2(sql);
      await sql`UPDATE echat_schema SET version = 1`;
      await sql.close();
      const t2 = await startServer({ config: { databaseUrl }, dir });
      try {
        expect(await send(t2, u, { text: "from version 1", client_id: "pg1-id" }, r)).toEqual(original);
        const h = await call(t2.url, "GET", `/v1/rooms/${r}/messages`, { session: v.session });
        expect(h.body.map((m: any) => m.id)).toEqual([original.id]);
      } finally {
        await t2.stop();
      }
      const check = new SQL({ url: databaseUrl, max: 1 });
      try {
        expect(await check`SELECT version FROM echat_schema`).toEqual([{ version: POSTGRES_MIGRATIONS.version }]);
        const indexes = await check`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages' ORDER BY 1`;
        expect(indexes.map((i: any) => i.indexname)).toEqual([
          "messages_client",
          "messages_pkey",
          "messages_room",
          "messages_search",
          "messages_sender",
        ]);
        expect(indexes.some((i: any) => i.indexdef.includes("UNIQUE") && i.indexname === "messages_client")).toBe(
          false,
        );
      } finally {
        await check.close();
        await dropDatabase(databaseUrl);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
