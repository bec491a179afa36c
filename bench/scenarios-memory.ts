// Sockets that cost the server without chatting: resumes to sockets that never read (RSS per socket),
// and a flood of read frames (what it does to /healthz). Each runs its own server on a fresh database.
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rssBytes, startEchat } from "./procs.ts";
import { post } from "./setup.ts";

const BACKLOG = 1000;
const SILENT_SOCKETS = 50;

async function metric(base: string, name: string) {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${base}/metrics`)).text());
  return Number(m?.[1]);
}

type Setup = (port: number, room: number, tokens: string[]) => Promise<void>;
type Body<T> = (base: string, room: number, tokens: string[], pid: number) => Promise<T>;

// Two users in one room on a fresh database, filled by setup; then the body runs on a server started
// again on that database, so its memory holds nothing of the setup.
async function withRoom<T>(setup: Setup, body: Body<T>) {
  const dir = mkdtempSync(join(tmpdir(), "echat-bench-mem-"));
  const db = join(dir, "m.db");
  let server = await startEchat({ db, cheapPasswords: true });
  try {
    const base = () => `http://127.0.0.1:${server.port}`;
    const tag = Date.now().toString(36);
    const users = [`m${tag}a`, `m${tag}b`];
    const tokens: string[] = [];
    for (const login of users)
      tokens.push((await post(base(), "/v1/register", { login, password: "bench-pw" })).session_id);
    const room = (await post(base(), "/v1/rooms", { users: [{ login: users[1] }] }, tokens[0])).id as number;
    await setup(server.port, room, tokens);
    await server.stop();
    server = await startEchat({ db, cheapPasswords: true });
    return await body(base(), room, tokens, server.proc.pid);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Chat-like texts: mostly a sentence or two, some longer, mixed scripts (~170 bytes on average).
function realisticText(i: number) {
  const words = ["ok", "встреча", "tomorrow", "at", "10:30", "👍", "can you check the deploy?", "спасибо", "lunch"];
  const n = 3 + ((i * 7919) % 40);
  return Array.from({ length: n }, (_, k) => words[(i + k * 31) % words.length]).join(" ");
}

async function fill(port: number, room: number, token: string, count: number, text = realisticText) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/rooms/${room}/chat?session_id=${token}`);
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  let acked = 0;
  const done = new Promise<void>((resolve) => {
    ws.onmessage = () => ++acked === count && resolve();
  });
  for (let i = 0; i < count; i++) ws.send(JSON.stringify({ text: text(i), client_id: `f${i}` }));
  await done;
  ws.close();
}

// A raw WebSocket client on node:net, after its upgrade; paused: it never reads again.
function upgraded(port: number, path: string, paused: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("error", reject);
    s.write(
      `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    s.once("data", () => {
      if (paused) s.pause();
      resolve(s);
    });
  });
}

// 50 sockets resume a room of 1000 messages and never read: RSS growth per socket. Realistic texts,
// or (longest) the longest allowed, 4000 characters.
export async function silentResumes(longest = false): Promise<Record<string, number>> {
  const text = longest ? (i: number) => `${i} `.padEnd(4000, "ж") : realisticText;
  const setup: Setup = (port, room, tokens) => fill(port, room, tokens[0]!, BACKLOG, text);
  return withRoom(setup, async (base, room, tokens, pid) => {
    const port = Number(new URL(base).port);
    await Bun.sleep(300);
    const before = await rssBytes(pid);
    const delivered0 = await metric(base, "echat_messages_delivered_total");
    const path = `/v1/rooms/${room}/chat?session_id=${tokens[1]}&after=0`;
    const sockets = [];
    for (let i = 0; i < SILENT_SOCKETS; i++) sockets.push(await upgraded(port, path, true));
    await Bun.sleep(1500); // the server sends what the sockets take, then waits for drains
    const after = await rssBytes(pid);
    const delivered = (await metric(base, "echat_messages_delivered_total")) - delivered0;
    const open = await metric(base, "echat_websockets_open");
    for (const s of sockets) s.destroy();
    return {
      sockets: SILENT_SOCKETS,
      rss_before_mib: before / 2 ** 20,
      rss_after_mib: after / 2 ** 20,
      rss_kib_per_socket: (after - before) / 1024 / SILENT_SOCKETS,
      backlog_frames_sent_per_socket: delivered / SILENT_SOCKETS,
      still_open: open,
    };
  });
}

// Client frames with a zero mask, so the payload goes as it is.
function readFrames(from: number, count: number): Buffer {
  const parts: Buffer[] = [];
  for (let id = from; id < from + count; id++) {
    const payload = Buffer.from(`{"type":"read","message_id":${id}}`);
    parts.push(Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload);
  }
  return Buffer.concat(parts);
}

function fence(sock: net.Socket, tag: string): Promise<void> {
  const payload = Buffer.from(`{"text":"fence","client_id":"${tag}"}`);
  sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
  return new Promise((resolve) => {
    const seen = (d: Buffer) => d.includes(`"client_id":"${tag}"`) && (sock.off("data", seen), resolve());
    sock.on("data", seen);
  });
}

// Two sockets send read frames as fast as the server reads them (each one above the last: the
// costliest case, every frame moves the marker) while /healthz is asked one request at a time.
export async function readFlood(secs: number): Promise<Record<string, number>> {
  return withRoom(
    (port, room, tokens) => fill(port, room, tokens[1]!, 20),
    async (base, room, tokens) => {
      const port = Number(new URL(base).port);
      const writes0 = await metric(base, "echat_read_marker_writes_total");
      const BATCH = 1000;
      let sent = 0;
      let stop = false;
      const t0 = performance.now();
      const flooders = await Promise.all(
        [0, 0].map(async () => {
          const sock = await upgraded(port, `/v1/rooms/${room}/chat?session_id=${tokens[0]}`, false);
          let id = 1;
          // One batch per turn of the event loop, so the probe and the stop flag get their turns even
          // when every write is taken at once; write() false: go on when the server has read it.
          const loop = () => {
            if (stop) return;
            const more = sock.write(readFrames(id, BATCH));
            id += BATCH;
            sent += BATCH;
            if (more) setImmediate(loop);
            else sock.once("drain", loop);
          };
          loop();
          return sock;
        }),
      );
      // The probe runs in its own process: building frames here must not delay its requests.
      const probe = Bun.spawn(["bun", import.meta.path, "probe", base, String(secs)], { stdout: "pipe" });
      const latency = JSON.parse(await new Response(probe.stdout).text());
      stop = true;
      // The kernel still holds frames: the server has read them all when it acks a message sent after them.
      await Promise.all(flooders.map((sock, i) => fence(sock, `fence${i}`)));
      const handled = sent / ((performance.now() - t0) / 1000);
      for (const sock of flooders) sock.destroy();
      return {
        read_frames_per_s: handled,
        ...latency,
        marker_writes: (await metric(base, "echat_read_marker_writes_total")) - writes0,
      };
    },
  );
}

// `bun bench/scenarios-memory.ts probe <base> <secs>`: /healthz one request at a time; prints p50 and p99.
async function probeHealth(base: string, secs: number) {
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < secs * 1000) {
    const t = performance.now();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
  return { healthz_p50_ms: at(0.5), healthz_p99_ms: at(0.99) };
}

if (import.meta.main && Bun.argv[2] === "probe")
  console.log(JSON.stringify(await probeHealth(Bun.argv[3]!, Number(Bun.argv[4]))));
