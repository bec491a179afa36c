// client_id makes a send idempotent: retries are recognized within the sender's last 100 messages
// (with a client_id) in the room, across restarts, and on a database made by schema version 1.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { opensSqliteFile } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";

let s: TestServer;
let alice: Account, bob: Account;
let room: number;
beforeAll(async () => {
  s = await startServer();
  alice = await register(s.url, "alice");
  bob = await register(s.url, "bob");
  room = await createRoom(s.url, alice, [bob]);
});
afterAll(() => s.stop());

const history = async (t: TestServer) =>
  (await call(t.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: bob.session })).body as any[];

async function send(t: TestServer, who: Account, frame: object) {
  const sock = await Socket.open(chatUrl(t, room, who));
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

describe("schema migration", () => {
  test.skipIf(!opensSqliteFile("the schema migration test"))(
    "a version 1 database (unique client_id index) is migrated to version 2 with its data and retries intact",
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
      expect(check.query("PRAGMA user_version").get()).toEqual({ user_version: 2 });
      const indexes = check
        .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'")
        .all();
      expect(indexes.map((i: any) => i.name).sort()).toEqual(["messages_room", "messages_sender"]);
      check.close();
      rmSync(dir, { recursive: true, force: true });
    },
  );
});
