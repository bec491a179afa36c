// Flow control on room sockets: backlogs to sockets that do not read, and read-marker floods.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { messageIds, RawSocket } from "./support/raw-socket.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";
import { every, waitFor } from "./support/waiting.ts";

const STALL_MS = 10_000; // docs/api.md: a backlog that makes no progress for 10 s ends with 1013
const READ_EVERY_MS = 1000; // docs/api.md: at most one marker write per socket per second

async function metric(s: TestServer, name: string): Promise<number> {
  const text: string = (await call(s.url, "GET", "/metrics")).body;
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

describe("resume under flow control", () => {
  const N = 600;
  let s: TestServer;
  let alice: Account, bob: Account, carol: Account;
  let room: number;
  let backlog: number[];

  beforeAll(async () => {
    s = await startServer();
    [alice, bob, carol] = await registerAll(s.url, ["alice", "bob", "carol"]);
    room = await createRoom(s.url, alice, [bob, carol]);
    const a = await Socket.open(chatUrl(s, room, alice));
    const big = "😀".repeat(4000); // 16 KB in UTF-8: ~10 MB of backlog, more than the kernel's buffers hold
    backlog = [];
    for (let i = 0; i < N; i += 50) backlog.push(...(await sendAll(a, Array(50).fill(big))).map((m) => m.id));
    await a.close();
  }, 60000);
  afterAll(() => s.stop());

  test("a resuming socket that never reads gets a gap-free prefix of its backlog, then 1013", async () => {
    const raw = await RawSocket.open(chatUrl(s, room, carol, { after: 0 }), { paused: true });
    // The server waits for a drain that never comes; once its stall time has passed it lets go.
    await waitFor(
      async () => {
        s.clock.advance(STALL_MS);
        return (await metric(s, "echat_websockets_open")) === 0 || undefined;
      },
      15000,
      every(100),
    );
    const frames = await raw.readUntil((f) => (f.at(-1)?.opcode === 8 ? f : undefined));
    expect(frames.at(-1)!.payload.readUInt16BE(0)).toBe(1013);
    const ids = messageIds(frames);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(N);
    expect(ids).toEqual(backlog.slice(0, ids.length));
    raw.tcp.destroy();
  }, 30000);

  test("a socket that pauses, then reads, gets the whole backlog, then what was sent meanwhile, then live", async () => {
    const delivered = () => metric(s, "echat_messages_delivered_total");
    const before = await delivered();
    const raw = await RawSocket.open(chatUrl(s, room, bob, { after: 0, events: "read" }), { paused: true });
    await waitFor(async () => ((await delivered()) > before ? true : undefined), 5000, every(20)); // sending began
    const a = await Socket.open(chatUrl(s, room, alice));
    const meanwhile = (await sendAll(a, ["one", "two", "three"])).map((m) => m.id);
    // The backlog stopped short (alice's own three acks aside): the rest waits for bob to read.
    expect((await delivered()) - before - 3).toBeLessThan(N);
    const all = [...backlog, ...meanwhile];
    let frames = await raw.readUntil((f) => (messageIds(f).length >= all.length ? f : undefined));
    expect(messageIds(frames)).toEqual(all);
    const typed = frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()));
    expect(typed.every((m) => m.type === "message" && isMessage(m))).toBe(true);
    const [live] = await sendAll(a, ["live"]);
    frames = await raw.readUntil((f) => (messageIds(f).length > all.length ? f : undefined));
    expect(messageIds(frames)).toEqual([...all, live.id]);
    raw.tcp.destroy();
    await a.close();
  }, 30000);
});

describe("read markers", () => {
  let s: TestServer;
  let dan: Account, erin: Account;

  beforeAll(async () => {
    s = await startServer();
    s.clock.freeze(); // the one-second window moves only by advance()
    [dan, erin] = await registerAll(s.url, ["dan", "erin"]);
  });
  afterAll(() => s.stop());

  const writes = () => metric(s, "echat_read_marker_writes_total");
  const unread = async (who: Account, r: number) =>
    (await call(s.url, "GET", "/v1/rooms", { session: who.session })).body.find((x: any) => x.id === r).unread;
  // A room where erin wrote n messages, dan's socket and erin's socket, both told of read markers.
  async function setUp(n: number, danEvents = "read") {
    const r = await createRoom(s.url, erin, [dan]);
    const e = await Socket.open(chatUrl(s, r, erin, { events: "read" }));
    const d = await Socket.open(chatUrl(s, r, dan, danEvents ? { events: danEvents } : {}));
    const ids = (
      await sendAll(
        e,
        Array.from({ length: n }, (_, i) => `m${i}`),
      )
    ).map((m) => m.id);
    await d.take(n, isMessage);
    return { r, e, d, ids };
  }
  const isRead = (f: any) => f.type === "read";
  // Frames are handled in order: once the fence's ack is back, every frame sent before it was.
  const fence = (sock: Socket) => sendAll(sock, ["fence"]);

  test("a burst of read frames is written twice: the first at once, the highest a second later", async () => {
    const { r, e, d, ids } = await setUp(6);
    const w = await writes();
    for (const i of [1, 3, 0, 4, 2]) d.send({ type: "read", message_id: ids[i] });
    await fence(d);
    expect(await e.next(isRead)).toEqual({ type: "read", room_id: r, user_id: dan.id, message_id: ids[1] });
    expect(await d.next(isRead)).toEqual({ type: "read", room_id: r, user_id: dan.id, message_id: ids[1] });
    expect((await writes()) - w).toBe(1);
    expect(await unread(dan, r)).toBe(4);
    s.clock.advance(READ_EVERY_MS);
    expect((await e.next(isRead)).message_id).toBe(ids[4]);
    expect((await writes()) - w).toBe(2);
    expect(await unread(dan, r)).toBe(1);
    expect(e.inbox.filter(isRead)).toEqual([]);
    await Promise.all([d.close(), e.close()]);
  });

  test("a marker not above the stored one writes nothing and announces nothing", async () => {
    const { r, e, d, ids } = await setUp(4);
    d.send({ type: "read", message_id: ids[2] });
    expect((await e.next(isRead)).message_id).toBe(ids[2]);
    const w = await writes();
    s.clock.advance(READ_EVERY_MS); // the window is open: only the comparison can stop a write
    for (const i of [0, 2, 1]) d.send({ type: "read", message_id: ids[i] });
    await fence(d);
    expect(await writes()).toBe(w);
    d.send({ type: "read", message_id: ids[3] }); // advancing: written at once, the first event since
    expect(await e.next(isRead)).toEqual({ type: "read", room_id: r, user_id: dan.id, message_id: ids[3] });
    expect((await writes()) - w).toBe(1);
    expect(e.inbox.filter(isRead)).toEqual([]);
    expect(await unread(dan, r)).toBe(0);
    await Promise.all([d.close(), e.close()]);
  });

  // dan's second marker waits for its second when the socket closes or the server stops.
  async function markWaiting() {
    const { r, e, d, ids } = await setUp(3, "");
    d.send({ type: "read", message_id: ids[0] });
    expect((await e.next(isRead)).message_id).toBe(ids[0]);
    d.send({ type: "read", message_id: ids[2] });
    await fence(d);
    expect(await unread(dan, r)).toBe(2); // the second is not written yet
    return { r, e, d, last: ids[2]! };
  }

  test("a marker still waiting for its second is written when the socket closes", async () => {
    const { r, e, d, last } = await markWaiting();
    await d.close();
    expect((await e.next(isRead)).message_id).toBe(last);
    expect(await unread(dan, r)).toBe(0);
    await e.close();
  });

  test("a marker still waiting for its second is written when the server stops", async () => {
    const { r, e, d } = await markWaiting();
    s = await s.restart();
    expect(await unread(dan, r)).toBe(0);
    await Promise.all([d.closed, e.closed]);
  });
});
