// A property of the user stream: with random messages and membership changes while the client drops its
// stream and resumes at random points, every frame it gets is the next seq of its room (no gap, nothing
// twice), and in the end its messages per room equal the REST history. On two instances (PostgreSQL) the
// client resumes on either.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, registerAll } from "./support/http.ts";
import { dropDatabase, freshDatabase, STORE, TEST_DATABASE_URL } from "./support/postgres.ts";
import { prng, type Rng } from "./support/prng.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, openStream, sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";

// What the client keeps: per room its last seq and the messages it holds (by id).
class Client {
  last = new Map<number, number>();
  held = new Map<number, Map<number, string>>();
  st: Socket | null = null;
  constructor(
    readonly who: Account,
    readonly base: () => string,
  ) {}

  // A room to reload (joined, or too much missed): its history by REST, as a client would.
  async reload(room: number, seq: number) {
    const r = await call(this.base(), "GET", `/v1/rooms/${room}/messages?limit=200`, { session: this.who.session });
    this.held.set(room, new Map(r.body.map((m: any) => [m.id, m.text])));
    this.last.set(room, seq);
  }

  async handle(f: any) {
    if (f.type === "room" && !this.last.has(f.room_id)) return this.reload(f.room_id, f.seq);
    if (f.type === "resync") return this.reload(f.room_id, f.seq);
    if (f.type === "room_removed") {
      this.last.delete(f.room_id);
      this.held.delete(f.room_id);
      return;
    }
    if (!this.last.has(f.room_id)) throw new Error(`frame of a room not held: ${JSON.stringify(f)}`);
    expect({ room: f.room_id, seq: f.seq }).toEqual({ room: f.room_id, seq: this.last.get(f.room_id)! + 1 });
    this.last.set(f.room_id, f.seq);
    if (f.type === "message") this.held.get(f.room_id)!.set(f.id, f.text);
  }

  async drain() {
    while (this.st && this.st.inbox.length) await this.handle(this.st.inbox.shift());
  }

  async connect(wsUrl: string) {
    this.st = await openStream(`${wsUrl}/v1/stream?session_id=${this.who.session}`);
    expect((await this.st.next()).type).toBe("hello");
    this.st.send({ type: "resume", rooms: Object.fromEntries(this.last) });
    for (let f = await this.st.next(); f.type !== "synced"; f = await this.st.next()) await this.handle(f);
  }

  async disconnect() {
    await this.drain();
    await this.st?.close();
    this.st = null;
  }
}

async function scenario(r: Rng, servers: TestServer[], ann: Account, ben: Account, steps: number) {
  const base = servers[0]!;
  const rooms: number[] = [];
  const member = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const g = await call(base.url, "POST", "/v1/rooms", {
      session: ann.session,
      body: { name: `p${i}`, users: [{ id: ben.id }] },
    });
    rooms.push(g.body.id);
    member.add(g.body.id);
  }
  const senders = await Promise.all(rooms.map((room) => Socket.open(chatUrl(r.pick(servers), room, ann))));
  const client = new Client(ben, () => base.url);
  await client.connect(r.pick(servers).wsUrl);
  for (let step = 0; step < steps; step++) {
    const i = r.int(rooms.length);
    const room = rooms[i]!;
    const roll = r.next();
    if (roll < 0.6) await sendAll(senders[i]!, [`s${step}`]);
    else if (roll < 0.8) {
      const path = `/v1/rooms/${room}/users`;
      if (member.delete(room)) await call(base.url, "DELETE", `${path}/${ben.id}`, { session: ann.session });
      else {
        await call(base.url, "POST", path, { session: ann.session, body: { users: [{ id: ben.id }] } });
        member.add(room);
      }
    } else if (client.st) await client.disconnect();
    else await client.connect(r.pick(servers).wsUrl);
    await client.drain();
  }
  if (client.st) await client.disconnect();
  await client.connect(r.pick(servers).wsUrl);
  // Everything stored reaches it: wait until each room's last seq is the room's own, then compare.
  for (const room of rooms) {
    if (!member.has(room)) {
      expect(client.last.has(room)).toBe(false);
      continue;
    }
    const { body } = await call(base.url, "GET", `/v1/rooms/${room}`, { session: ben.session });
    while ((client.last.get(room) ?? 0) < body.seq) await client.handle(await client.st!.next());
    const history = await call(base.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: ben.session });
    expect([...client.held.get(room)!.keys()].sort((x, y) => x - y)).toEqual(history.body.map((m: any) => m.id));
  }
  await client.disconnect();
  await Promise.all(senders.map((s) => s.close()));
}

describe("the user stream under random changes and reconnects", () => {
  let s: TestServer;
  let ann: Account, ben: Account;
  beforeAll(async () => {
    s = await startServer();
    [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
  });
  afterAll(() => s.stop());

  test.each([1, 2, 3])(
    "seed %d: no gap, nothing twice, and the REST history in the end",
    async (seed) => {
      await scenario(prng(seed), [s], ann, ben, 80);
    },
    30_000,
  );
});

describe.skipIf(STORE !== "postgres" || !needs("postgresql", TEST_DATABASE_URL !== ""))(
  "the same on two instances, resuming on either",
  () => {
    let a: TestServer, b: TestServer, databaseUrl: string;
    let ann: Account, ben: Account;
    beforeAll(async () => {
      databaseUrl = await freshDatabase();
      [a, b] = await Promise.all([startServer({ config: { databaseUrl } }), startServer({ config: { databaseUrl } })]);
      [ann, ben] = await registerAll(a.url, ["ann", "ben"]);
    });
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      if (databaseUrl) await dropDatabase(databaseUrl);
    });

    test.each([4, 5])(
      "seed %d",
      async (seed) => {
        await scenario(prng(seed), [a, b], ann, ben, 80);
      },
      30_000,
    );
  },
);
