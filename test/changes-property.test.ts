// A property of message changes: while a client is away (its user stream closed, and a room socket with
// events=changes closed), random sends, edits, deletes and reactions happen, and go on while it resumes
// (the stream's resume map, the room socket's after=seq); it gets exactly those changes, in the room's order,
// once, and applying them to its copy gives the REST history.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, registerAll } from "./support/http.ts";
import { ChangingRoom, Copy, historyOf } from "./support/changes.ts";
import { prng } from "./support/prng.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, openStream, Socket, streamUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account, cat: Account;
beforeAll(async () => {
  s = await startServer();
  [ann, ben, cat] = await registerAll(s.url, ["ann", "ben", "cat"]);
});
afterAll(() => s.stop());

const history = (room: number) => historyOf(s.url, room, ben);

async function group() {
  const g = await call(s.url, "POST", "/v1/rooms", {
    session: ann.session,
    body: { name: "prop", users: [{ id: ben.id }, { id: cat.id }] },
  });
  return g.body.id as number;
}

// Frames of a resumed stream up to synced, then the live ones the test waits for.
async function resumeStream(copy: Map<number, Copy>) {
  const st = await openStream(streamUrl(s, ben));
  await st.next((f) => f.type === "hello");
  st.send({ type: "resume", rooms: Object.fromEntries([...copy].map(([room, c]) => [room, c.seq])) });
  // Rooms of the other cases are announced ("room"): not this case's.
  for (let f = await st.next(); f.type !== "synced"; f = await st.next()) copy.get(f.room_id)?.apply(f);
  return st;
}

describe("resuming after changes made while away", () => {
  for (const seed of [1, 2, 3]) {
    test(`the stream and a room socket with events=changes end equal to REST history (seed ${seed})`, async () => {
      const r = prng(seed);
      const rooms: ChangingRoom[] = [];
      const sockets: Socket[] = [];
      for (let i = 0; i < 2; i++) {
        const id = await group();
        const senders = await Promise.all(
          [ann, cat].map(async (who) => ({ who, sock: await Socket.open(chatUrl(s, id, who)) })),
        );
        sockets.push(...senders.map((x) => x.sock));
        rooms.push(new ChangingRoom(id, senders, [ann, ben, cat]));
      }
      const ids = rooms.map((room) => room.id);
      const change = () => r.pick(rooms).change(r, s.url);
      const byStream = new Map(ids.map((room) => [room, new Copy(1)]));
      const bySocket = new Copy(1); // the first room, by its socket
      for (let round = 0; round < 6; round++) {
        // Away: a burst of random changes.
        for (let i = 0; i < 12; i++) await change();
        // Back: the stream resumes and the room socket reconnects with after=seq, while more changes happen.
        const during = async () => {
          for (let i = 0; i < 4; i++) await change();
        };
        const [st, ws] = await Promise.all([
          resumeStream(byStream),
          Socket.open(chatUrl(s, ids[0]!, ben, { events: "changes", after: bySocket.seq })),
          during(),
        ]);
        for (const room of ids) {
          const { seq } = (await call(s.url, "GET", `/v1/rooms/${room}`, { session: ben.session })).body;
          const copy = byStream.get(room)!;
          while (copy.seq < seq) {
            const f = await st.next((x) => byStream.has(x.room_id));
            byStream.get(f.room_id)!.apply(f);
          }
          if (room === ids[0]) while (bySocket.seq < seq) bySocket.apply(await ws.next());
        }
        // Nothing more came than the room's order holds (a frame twice would be past the room's seq).
        expect(st.inbox.filter((f) => byStream.has(f.room_id))).toEqual([]);
        expect(ws.inbox).toEqual([]);
        await ws.close();
        await st.close();
      }
      for (const room of ids) expect(byStream.get(room)!.messages).toEqual(await history(room));
      expect(bySocket.messages).toEqual(await history(ids[0]!));
      for (const sock of sockets) sock.close();
    }, 30_000);
  }
});
