// Two server processes on one PostgreSQL and one Redis; one is killed with SIGKILL mid-stream.
// No acknowledged message may be lost: it is in the history, it reaches the member on the surviving
// instance in order, and the sender's retries with the same client_ids store nothing twice.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Child, SOURCE, startChild } from "./support/child.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, TEST_DATABASE_URL, TEST_REDIS_URL } from "./support/postgres.ts";
import { chatUrl, isMessage, isUserPresence, Socket, streamUrl } from "./support/socket.ts";
import { needs } from "./support/tools.ts";

const enabled = needs("postgresql", TEST_DATABASE_URL !== "") && needs("redis", TEST_REDIS_URL !== "");

// Each instance is `echat serve` in its own process; presence entries expire after 2 s. Both share one files
// folder, a temporary one (not the working directory's).
const files = mkdtempSync(join(tmpdir(), "echat-crash-"));
afterAll(() => rmSync(files, { recursive: true, force: true }));
const spawnInstance = (databaseUrl: string) =>
  startChild(SOURCE, [], {
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      ECHAT_PRESENCE_TTL: "2",
      ECHAT_LIMITS: "off",
      ECHAT_FILES_DIR: files,
    },
  });

describe.skipIf(!enabled)("an instance killed with SIGKILL mid-stream", () => {
  let a: Child, b: Child, databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    [a, b] = await Promise.all([spawnInstance(databaseUrl), spawnInstance(databaseUrl)]);
  });
  afterAll(async () => {
    for (const i of [a, b]) i?.proc.kill("SIGKILL");
    await Promise.all([a?.proc.exited, b?.proc.exited]);
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  test("loses no acknowledged message, retries on the other instance store nothing twice, and its users go offline", async () => {
    const alice: Account = await register(a.url, "alice");
    const bob: Account = await register(b.url, "bob");
    const room = await createRoom(a.url, alice, [bob]);
    const sb = await Socket.open(chatUrl(b, room, bob));
    const watch = await Socket.open(chatUrl(b, room, bob, { events: "presence" }));
    const stream = await Socket.open(streamUrl(b, bob));
    stream.send({ type: "resume", rooms: {} });
    await stream.next((f) => f.type === "synced");
    const sa = await Socket.open(chatUrl(a, room, alice));
    await watch.next((f) => f.type === "presence" && f.online.includes(alice.id));
    expect(await stream.next(isUserPresence)).toEqual({ type: "presence", user_id: alice.id, online: true });

    const total = 300;
    for (let i = 0; i < total; i++) sa.send({ text: `m${i}`, client_id: `c${i}` });
    const c30 = await sa.next((f) => f.client_id === "c30"); // acks arrive in order: 31 are in
    a.proc.kill("SIGKILL");
    await sa.closed;
    const acked = [c30, ...sa.inbox.filter(isMessage)]; // everything acked before the kill
    expect(acked.length).toBeGreaterThanOrEqual(31);

    // The dead instance cannot say that alice left: her presence entry expires (ECHAT_PRESENCE_TTL=2).
    expect((await watch.next((f) => f.type === "presence" && !f.online.includes(alice.id), 10000)).online).toEqual([
      bob.id,
    ]);
    // And on bob's stream, where presence is per user.
    expect(await stream.next(isUserPresence, 10000)).toEqual({ type: "presence", user_id: alice.id, online: false });

    // The sender reconnects to the survivor and retries every client_id it has no ack for.
    const ackedIds = new Set(acked.map((m) => m.client_id));
    const sa2 = await Socket.open(chatUrl(b, room, alice));
    const retry = Array.from({ length: total }, (_, i) => `c${i}`).filter((c) => !ackedIds.has(c));
    for (const c of retry) sa2.send({ text: `m${c.slice(1)}`, client_id: c });
    for (const c of retry) await sa2.next((f) => f.client_id === c);

    const history: any[] = [];
    for (let after = 0; ; ) {
      const page = await call(b.url, "GET", `/v1/rooms/${room}/messages?after=${after}&limit=200`, {
        session: bob.session,
      });
      if (page.body.length === 0) break;
      history.push(...page.body);
      after = page.body.at(-1).id;
    }
    // Every client_id exactly once; every acked message kept its id.
    expect(history.map((m) => m.client_id).sort()).toEqual(Array.from({ length: total }, (_, i) => `c${i}`).sort());
    const byClient = new Map(history.map((m) => [m.client_id, m]));
    for (const m of acked) expect(byClient.get(m.client_id)).toEqual(m);
    // Bob, on the survivor, saw the whole room in id order: the sequencer filled whatever the dead
    // instance had stored but not yet published.
    expect((await sb.take(total, isMessage)).map((m) => m.id)).toEqual(history.map((m) => m.id));
    await Promise.all([sb.close(), sa2.close(), watch.close()]);
  }, 30000);
});
