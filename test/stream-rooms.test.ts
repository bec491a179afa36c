// A user stream's resume over many rooms: the store is read a chunk of rooms at a time (Store.listRoomsFrames,
// one query per table on PostgreSQL), never room by room, and each room's frames still come in seq order,
// exactly once, across the chunks' boundaries (by room count and by missed frames).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Store } from "../lib/store/store.ts";
import { type Account, call, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, openStream, sendAll, Socket, streamUrl } from "./support/socket.ts";

const ROOMS = 105; // past the 100 rooms one read takes
const calls = {
  listFrames: 0,
  findRoomForMember: 0,
  listRoomsFrames: [] as number[],
  findRoomsForMember: [] as number[],
};

function counting(store: Store): Store {
  return {
    ...store,
    listFrames: (...a) => (calls.listFrames++, store.listFrames(...a)),
    findRoomForMember: (...a) => (calls.findRoomForMember++, store.findRoomForMember(...a)),
    listRoomsFrames: (after, limit) => (calls.listRoomsFrames.push(after.size), store.listRoomsFrames(after, limit)),
    findRoomsForMember: (ids, user) => (calls.findRoomsForMember.push(ids.length), store.findRoomsForMember(ids, user)),
  };
}

let s: TestServer;
let ann: Account, ben: Account;
beforeAll(async () => {
  s = await startServer({ wrapStore: counting });
  [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
});
afterAll(() => s.stop());

async function group(owner: Account, member: Account): Promise<number> {
  const body = { name: "G", users: [{ id: member.id }] };
  return (await call(s.url, "POST", "/v1/rooms", { session: owner.session, body })).body.id;
}
async function post(room: number, n: number) {
  const sock = await Socket.open(chatUrl(s, room, ann));
  await sendAll(
    sock,
    Array.from({ length: n }, (_, i) => `r${room}m${i}`),
  );
  await sock.close();
}
async function resumed(rooms: Record<number, number>) {
  const st = await openStream(streamUrl(s, ben));
  await st.next(); // hello
  st.send({ type: "resume", rooms });
  const frames = [];
  for (;;) {
    const f = await st.next();
    if (f.type === "synced") return { st, frames };
    frames.push(f);
  }
}

describe("resume over many rooms", () => {
  test("read a chunk of rooms at a time; each room's frames in order, exactly once", async () => {
    const rooms: number[] = [];
    for (let i = 0; i < ROOMS; i += 15)
      rooms.push(...(await Promise.all(Array.from({ length: 15 }, () => group(ann, ben)))));
    const { st: first, frames: initial } = await resumed({});
    await first.close();
    const seqs: Record<number, number> = Object.fromEntries(initial.map((f) => [f.room_id, f.seq]));
    // Away: 600 messages in each of two rooms (no one read takes both), a few around the 100th room,
    // ben leaves one room and is added to a new one.
    const missed = new Map([
      [rooms[1]!, 600],
      [rooms[2]!, 600],
      [rooms[0]!, 2],
      [rooms[98]!, 3],
      [rooms[99]!, 2],
      [rooms[100]!, 2],
      [rooms[104]!, 1],
    ]);
    for (const [room, n] of missed) await post(room, n);
    const left = rooms[50]!;
    await call(s.url, "DELETE", `/v1/rooms/${left}/users/${ben.id}`, { session: ben.session });
    const joined = await group(ann, ben);
    Object.assign(calls, { listFrames: 0, findRoomForMember: 0, listRoomsFrames: [], findRoomsForMember: [] });

    const { st, frames } = await resumed(seqs);
    for (const room of rooms) {
      if (room === left) continue;
      const want = Array.from({ length: missed.get(room) ?? 0 }, (_, i) => seqs[room]! + 1 + i);
      expect([room, frames.filter((f) => f.room_id === room).map((f) => [f.type, f.seq])]).toEqual([
        room,
        want.map((q) => ["message", q]),
      ]);
    }
    expect(frames.filter((f) => f.room_id === left)).toEqual([{ type: "room_removed", room_id: left }]);
    expect(frames.filter((f) => f.room_id === joined)).toMatchObject([{ type: "room", seq: 1 }]);
    expect(frames.length).toBe(1210 + 2);
    // Every room the map and the user share read once, in a few reads; the joined room read with it.
    expect(calls.listRoomsFrames.length).toBeLessThanOrEqual(4);
    expect(calls.listRoomsFrames.reduce((a, b) => a + b, 0)).toBe(ROOMS - 1);
    expect(calls.findRoomsForMember).toEqual([1]);
    expect([calls.listFrames, calls.findRoomForMember]).toEqual([0, 0]);
    await st.close();
  }, 60_000);
});
