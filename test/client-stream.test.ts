// The typed client's user stream (client/user-stream.ts) against a real server: replay then live, positions
// per room, sends held until synced and stored exactly once, rooms added and removed, resume after a restart
// with nothing lost or doubled, and the end on logout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EchatClient, type UserStream, type UserStreamEvents } from "../client/index.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { Changes, waitFor } from "./support/waiting.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

let n = 0;
const FAST = { initialMs: 20, maxMs: 200 };

async function signedUp(name: string, base = s.url) {
  const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: base });
  await c.register(`${name}${++n}`, "password123");
  const { id, login } = await c.info();
  return { c, me: { id, login } };
}

// Everything a stream emits, in order, and a wait for the first entry after `from` that matches.
function record(stream: UserStream) {
  const log: { name: keyof UserStreamEvents; value: any }[] = [];
  const changes = new Changes();
  const names = [
    "hello",
    "message",
    "members",
    "room",
    "room_removed",
    "resync",
    "synced",
    "typing",
    "read",
    "presence",
  ] as const;
  for (const name of [...names, "error", "state", "closed"] as const)
    stream.on(name, (value) => {
      log.push({ name, value });
      changes.notify();
    });
  const until = (match: (name: string, value: any) => boolean, from = 0, ms = 10000) =>
    waitFor(
      () => log.slice(from).find((e) => match(e.name, e.value)) ?? undefined,
      ms,
      changes,
      () => `no such event; ${JSON.stringify(log).slice(0, 800)}`,
    );
  const texts = (roomId: number) =>
    log.filter((e) => e.name === "message" && e.value.room_id === roomId).map((e) => e.value.text as string);
  return { log, until, texts, synced: (from = 0) => until((name) => name === "synced", from) };
}

describe("the user stream", () => {
  test("says hello, syncs, then delivers every room's messages live; its own sends are acknowledged once", async () => {
    const { c: alice, me: a } = await signedUp("alice");
    const { c: bob, me: b } = await signedUp("bob");
    const room = (await alice.createRoom([{ id: b.id }])).id;
    const stream = alice.stream({ backoff: FAST });
    const r = record(stream);
    await r.synced();
    expect(r.log[0]?.name).toBe("state");
    expect(r.log.find((e) => e.name === "hello")?.value).toEqual({ user: a });
    // A room the map did not name (made before the stream) is announced once, with its seq.
    expect(r.log.find((e) => e.name === "room")?.value).toMatchObject({ type: "room", room_id: room });

    const fromBob = await bob.roomSocket(room).send("hi alice");
    const got = (await r.until((name, v) => name === "message" && v.id === fromBob.id)).value;
    expect(got).toMatchObject({ text: "hi alice", room_id: room, user_id: b.id, seq: fromBob.seq });

    const mine = await stream.send(room, "hi bob");
    expect(mine).toMatchObject({ text: "hi bob", room_id: room, user_id: a.id });
    expect(stream.rooms[room]).toBe(mine.seq);
    expect(r.texts(room)).toEqual(["hi alice", "hi bob"]);
    expect((await alice.messages(room)).map((m) => m.text)).toEqual(["hi alice", "hi bob"]);
    stream.close();
  });

  test("a room the user is added to arrives as a room frame, then its messages; removal is room_removed", async () => {
    const { c: alice } = await signedUp("alice");
    const { c: bob, me: b } = await signedUp("bob");
    const stream = bob.stream({ backoff: FAST });
    const r = record(stream);
    await r.synced();
    const group = await alice.createGroup({ name: "Garden", users: [{ id: b.id }] });
    expect((await r.until((name) => name === "room")).value).toMatchObject({ room_id: group.id });
    await alice.roomSocket(group.id).send("welcome");
    await r.until((name, v) => name === "message" && v.text === "welcome");
    await alice.removeMember(group.id, b.id);
    expect((await r.until((name) => name === "room_removed")).value).toEqual({
      type: "room_removed",
      room_id: group.id,
    });
    expect(group.id in stream.rooms).toBe(false);
    stream.close();
  });

  test("presence of the users it shares a room with, and its own read markers with the room's unread", async () => {
    const { c: alice, me: a } = await signedUp("alice");
    const { c: bob, me: b } = await signedUp("bob");
    const room = (await alice.createRoom([{ id: b.id }])).id;
    const bobs = bob.stream({ backoff: FAST });
    const rb = record(bobs);
    await rb.synced();
    const stream = alice.stream({ backoff: FAST });
    const r = record(stream);
    await r.synced();
    // After synced: bob is online (his stream); then bob hears alice come.
    expect((await r.until((name) => name === "presence")).value).toEqual({
      type: "presence",
      user_id: b.id,
      online: true,
    });
    expect((await rb.until((name) => name === "presence")).value).toEqual({
      type: "presence",
      user_id: a.id,
      online: true,
    });
    const m = await bobs.send(room, "unread one");
    await r.until((name, v) => name === "message" && v.id === m.id);
    expect(stream.read(room, m.id)).toBe(true);
    const mine = await r.until((name) => name === "read");
    expect(mine.value).toEqual({
      type: "read",
      room_id: room,
      user_id: a.id,
      message_id: m.id,
      unread: 0,
      mentions: 0,
    });
    const receipt = await rb.until((name) => name === "read");
    expect(receipt.value).toEqual({ type: "read", room_id: room, user_id: a.id, message_id: m.id });
    stream.close();
    const from = rb.log.length;
    expect((await rb.until((name) => name === "presence", from)).value).toMatchObject({ user_id: a.id, online: false });
    bobs.close();
  });

  test("after a restart it resumes from its map: what was sent meanwhile comes once, and a send made while away is stored once", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port!;
    probe.stop(true);
    const dir = mkdtempSync(join(tmpdir(), "echat-stream-"));
    let own = await startServer({ config: { port }, dir });
    try {
      const { c: alice } = await signedUp("alice", own.url);
      const { c: bob, me: b } = await signedUp("bob", own.url);
      const room = (await alice.createRoom([{ id: b.id }])).id;
      const stream = alice.stream({ backoff: FAST });
      const r = record(stream);
      await r.synced();
      await stream.send(room, "before");
      await own.stop();
      await r.until((name, v) => name === "state" && v.state === "reconnecting");
      const away = stream.send(room, "typed while away"); // held until the next sync

      const elsewhere = await startServer({ config: { port: 0 }, dir }); // written while the stream is away
      const writer = new EchatClient({ baseUrl: elsewhere.url, session: bob.session });
      const sock = writer.roomSocket(room);
      for (const text of ["meanwhile 1", "meanwhile 2"]) await sock.send(text);
      sock.close();
      await elsewhere.stop();

      const mark = r.log.length;
      own = await startServer({ config: { port }, dir });
      await r.synced(mark);
      expect((await away).text).toBe("typed while away");
      expect(r.texts(room)).toEqual(["before", "meanwhile 1", "meanwhile 2", "typed while away"]);
      const stored = (await alice.messages(room)).map((m) => m.text);
      expect(stored).toEqual(["before", "meanwhile 1", "meanwhile 2", "typed while away"]);
      stream.close();
    } finally {
      await own.stop();
    }
  }, 30000);

  test("logging out ends it for good with 4001, and pending sends are rejected", async () => {
    const { c: alice } = await signedUp("alice");
    const room = (await alice.createRoom([])).id;
    const stream = alice.stream({ backoff: FAST });
    const r = record(stream);
    await r.synced();
    await alice.logout();
    expect((await r.until((name) => name === "closed")).value.code).toBe(4001);
    await expect(stream.send(room, "too late")).rejects.toThrow();
    expect(r.log.filter((e) => e.name === "state" && e.value.state === "reconnecting")).toEqual([]);
  });
});
