// A property of message changes: while a client is away (its user stream closed, and a room socket with
// events=changes closed), random sends, edits, deletes and reactions happen; when it resumes (the stream's
// resume map, the room socket's after=seq) it gets exactly those changes, in the room's order, once, and
// applying them to its copy gives the REST history.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, registerAll } from "./support/http.ts";
import { prng, type Rng } from "./support/prng.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, openStream, sendAll, Socket, streamUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account, cat: Account;
beforeAll(async () => {
  s = await startServer();
  [ann, ben, cat] = await registerAll(s.url, ["ann", "ben", "cat"]);
});
afterAll(() => s.stop());

// A client's copy of one room: its messages by id as the API shows them, and the last seq it got.
class Copy {
  messages = new Map<number, any>();
  constructor(public seq: number) {}

  apply(f: any) {
    expect(f.seq).toBeGreaterThan(this.seq); // in order, never twice (a deleted message leaves a gap)
    this.seq = f.seq;
    if (f.type === "message") {
      const { type: _, ...m } = f;
      this.messages.set(m.id, m);
    } else if (f.type === "edit") {
      // A tombstone: deleted since (its delete follows); not held when it was sent and deleted while away.
      if (!f.message.deleted) this.messages.set(f.message.id, f.message);
    } else if (f.type === "delete") this.messages.delete(f.message_id);
    else if (f.type === "reaction") {
      const m = this.messages.get(f.message_id);
      if (!m) return; // sent and deleted while away: its delete follows
      if (f.reactions.length) m.reactions = f.reactions;
      else delete m.reactions;
    } else throw new Error(`unexpected frame ${JSON.stringify(f)}`);
  }
}

async function history(room: number) {
  const r = await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: ben.session });
  return new Map<number, any>(r.body.map((m: any) => [m.id, m]));
}

const EMOJI = ["👍", "🎉", "❤️", "😂"];

// One random change in the room by REST or a send, by ann or cat (ben is away).
async function change(r: Rng, room: number, senders: Map<number, Socket>, live: number[], mine: Map<number, Account>) {
  const roll = r.next();
  if (live.length === 0 || roll < 0.3) {
    const who = r.chance(0.5) ? ann : cat;
    const [m] = await sendAll(senders.get(who.id)!, [`m${r.int(1e6)}`]);
    live.push(m.id);
    mine.set(m.id, who);
    return;
  }
  const id = r.pick(live);
  const author = mine.get(id)!;
  const at = `/v1/rooms/${room}/messages/${id}`;
  if (roll < 0.55) {
    const res = await call(s.url, "PATCH", at, { session: author.session, body: { text: `e${r.int(1e6)}` } });
    expect(res.status).toBe(200);
  } else if (roll < 0.7) {
    expect((await call(s.url, "DELETE", at, { session: author.session })).status).toBe(200);
    live.splice(live.indexOf(id), 1);
  } else {
    const who = r.pick([ann, cat, ben]);
    const method = r.chance(0.7) ? "PUT" : "DELETE";
    const res = await call(s.url, method, `${at}/reactions/${encodeURIComponent(r.pick(EMOJI))}`, {
      session: who.session,
    });
    expect(res.status).toBe(200);
  }
}

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
      const rooms = [await group(), await group()];
      const senders = new Map<number, Map<number, Socket>>();
      for (const room of rooms) {
        const open = async (who: Account) => [who.id, await Socket.open(chatUrl(s, room, who))] as const;
        senders.set(room, new Map([await open(ann), await open(cat)]));
      }
      const live = new Map(rooms.map((room) => [room, [] as number[]]));
      const mine = new Map<number, Account>();
      const byStream = new Map(rooms.map((room) => [room, new Copy(1)]));
      const bySocket = new Copy(1); // the first room, by its socket
      for (let round = 0; round < 6; round++) {
        // Away: a burst of random changes.
        for (let i = 0; i < 12; i++) {
          const room = r.pick(rooms);
          await change(r, room, senders.get(room)!, live.get(room)!, mine);
        }
        // Back: the stream resumes, and the room socket with after=seq.
        const st = await resumeStream(byStream);
        const ws = await Socket.open(chatUrl(s, rooms[0]!, ben, { events: "changes", after: bySocket.seq }));
        const { seq } = (await call(s.url, "GET", `/v1/rooms/${rooms[0]}`, { session: ben.session })).body;
        while (bySocket.seq < seq) bySocket.apply(await ws.next());
        await ws.close();
        await st.close();
      }
      for (const room of rooms) expect(byStream.get(room)!.messages).toEqual(await history(room));
      expect(bySocket.messages).toEqual(await history(rooms[0]!));
      for (const m of senders.values()) for (const sock of m.values()) sock.close();
    }, 30_000);
  }
});
