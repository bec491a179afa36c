// The typed client's message changes (client/): editMessage, deleteMessage, react and unreact, and the
// edit, delete and reaction events of a room socket with events=changes (resuming by seq) and of the stream.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ApiError, EchatClient } from "../client/index.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { Changes, waitFor } from "./support/waiting.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

let n = 0;
async function signedUp(name: string) {
  const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url });
  await c.register(`${name}${++n}`, "password123");
  const { id } = await c.info();
  return { c, id };
}

// Every event of the names given, in order, and a wait until n of them came.
function record(emitter: { on(name: any, f: (v: any) => void): unknown }, names: string[]) {
  const log: [string, any][] = [];
  const changes = new Changes();
  for (const name of names) emitter.on(name, (v: any) => (log.push([name, v]), changes.notify()));
  const count = (k: number) =>
    waitFor(
      () => (log.length >= k ? log.slice(0, k) : undefined),
      10000,
      changes,
      () => JSON.stringify(log),
    );
  return { log, count };
}

test("REST: edit, react, unreact and delete answer typed; a refusal is an ApiError with its code", async () => {
  const { c: alice } = await signedUp("alice");
  const { c: bob, id: b } = await signedUp("bob");
  const room = (await alice.createRoom([{ id: b }])).id;
  const sock = alice.roomSocket(room);
  const m = await sock.send("helo");
  const edited = await alice.editMessage(room, m.id, "hello");
  expect(edited).toEqual({ ...m, text: "hello", edited_at: expect.any(String) });
  expect(await bob.react(room, m.id, "👍")).toEqual({ message_id: m.id, reactions: [{ emoji: "👍", user_ids: [b] }] });
  expect(await bob.unreact(room, m.id, "👍")).toEqual({ message_id: m.id, reactions: [] });
  const refused = await bob.editMessage(room, m.id, "mine now").catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ApiError);
  expect((refused as ApiError).code).toBe("forbidden");
  await alice.deleteMessage(room, m.id);
  expect(await alice.messages(room)).toEqual([]);
  const gone = await alice.deleteMessage(room, m.id).catch((e: unknown) => e);
  expect((gone as ApiError).code).toBe("message_not_found");
  sock.close();
});

test("a room socket with events=changes emits edit, reaction and delete, and resumes by seq", async () => {
  const { c: alice } = await signedUp("alice");
  const { c: bob, id: b } = await signedUp("bob");
  const room = (await alice.createRoom([{ id: b }])).id;
  const bs = bob.roomSocket(room, { events: ["changes"] });
  const rec = record(bs, ["message", "edit", "reaction", "delete"]);
  await bs.connected();
  const as = alice.roomSocket(room);
  const m = await as.send("one");
  await alice.editMessage(room, m.id, "one!");
  await bob.react(room, m.id, "🎉");
  await alice.deleteMessage(room, m.id);
  const events = await rec.count(4);
  expect(events.map(([name, v]) => [name, v.seq])).toEqual([
    ["message", m.seq],
    ["edit", m.seq! + 1],
    ["reaction", m.seq! + 2],
    ["delete", m.seq! + 3],
  ]);
  expect(bs.lastId).toBe(m.seq! + 3); // its place in the room's order
  bs.close();
  // Away: an edit; back from the seq it had.
  const m2 = await as.send("two");
  await alice.editMessage(room, m2.id, "two!");
  const again = bob.roomSocket(room, { events: ["changes"], after: m.seq! + 3 });
  const back = record(again, ["message", "edit"]);
  expect((await back.count(2)).map(([name, v]) => [name, v.seq])).toEqual([
    ["message", m2.seq],
    ["edit", m2.seq! + 1],
  ]);
  again.close();
  as.close();
});

test("the user stream emits edit, reaction and delete and keeps their seqs as its positions", async () => {
  const { c: alice } = await signedUp("alice");
  const { c: bob, id: b } = await signedUp("bob");
  const room = (await alice.createRoom([{ id: b }])).id;
  const stream = bob.stream();
  const rec = record(stream, ["synced", "message", "edit", "reaction", "delete"]);
  await rec.count(1);
  const as = alice.roomSocket(room);
  const m = await as.send("one");
  await alice.editMessage(room, m.id, "one!");
  await bob.react(room, m.id, "🎉");
  await alice.deleteMessage(room, m.id);
  const events = (await rec.count(5)).slice(1);
  expect(events.map(([name]) => name)).toEqual(["message", "edit", "reaction", "delete"]);
  expect(events[1]![1].message.text).toBe("one!");
  expect(stream.rooms[room]).toBe(m.seq! + 3);
  stream.close();
  as.close();
});
