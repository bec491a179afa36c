// Flow control of a user stream's replay, as for a room socket's backlog: it is sent as the client takes
// it, and a client that takes nothing of it for 10 s is closed with 1013, having got a gap-free start.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, registerAll } from "./support/http.ts";
import { RawSocket } from "./support/raw-socket.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket, streamUrl } from "./support/socket.ts";
import { every, waitFor } from "./support/waiting.ts";

const STALL_MS = 10_000;
const N = 1000; // per room, the most a resume replays of one room

describe("a user stream's replay under flow control", () => {
  let s: TestServer;
  let ann: Account, ben: Account;
  let rooms: number[];
  beforeAll(async () => {
    s = await startServer();
    [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
    rooms = [];
    // Two rooms of 1000 messages of 16 KB (UTF-8): 32 MB to replay, past the 16 MiB a socket may have
    // queued (Bun drops it) and far past the 256 KiB at which the replay waits for the client.
    const big = "😀".repeat(4000);
    for (const name of ["big", "bigger"]) {
      const body = { name, users: [{ id: ben.id }] };
      const g = await call(s.url, "POST", "/v1/rooms", { session: ann.session, body });
      rooms.push(g.body.id);
      const a = await Socket.open(chatUrl(s, g.body.id, ann));
      for (let i = 0; i < N; i += 50) await sendAll(a, Array(50).fill(big));
      await a.close();
    }
  }, 60_000);
  afterAll(() => s.stop());

  const url = () => streamUrl(s, ben);

  test("a client that reads gets all of it in order, then synced", async () => {
    const st = await Socket.open(url());
    await st.next(); // hello
    st.send({ type: "resume", rooms: { [rooms[0]!]: 1, [rooms[1]!]: 1 } });
    const frames = await st.take(2 * N + 1, () => true, 30_000);
    const seqs = Array.from({ length: N }, (_, i) => i + 2);
    for (const [i, room] of rooms.entries()) {
      expect(frames.slice(i * N, (i + 1) * N).map((f) => [f.room_id, f.seq])).toEqual(seqs.map((q) => [room, q]));
    }
    expect(frames[2 * N]).toEqual({ type: "synced" });
    await st.close();
  }, 30_000);

  test("a client that takes nothing gets a gap-free start, then 1013", async () => {
    const raw = await RawSocket.open(url(), { paused: true });
    raw.sendText(JSON.stringify({ type: "resume", rooms: { [rooms[0]!]: 1 } }));
    await waitFor(
      async () => {
        s.clock.advance(STALL_MS);
        const metrics: string = (await call(s.url, "GET", "/metrics")).body;
        return /^echat_websockets_open 0$/m.test(metrics) || undefined;
      },
      15_000,
      every(100),
    );
    const frames = await raw.readUntil((f) => (f.at(-1)?.opcode === 8 ? f : undefined));
    expect(frames.at(-1)!.payload.readUInt16BE(0)).toBe(1013);
    const seqs = frames
      .filter((f) => f.opcode === 1)
      .map((f) => JSON.parse(f.payload.toString()))
      .filter((f) => f.type === "message")
      .map((f) => f.seq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.length).toBeLessThan(N);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 2));
    raw.tcp.destroy();
  }, 30_000);
});
