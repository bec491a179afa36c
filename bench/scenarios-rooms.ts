// Room spam (issue 12): one user in the most rooms allowed (--max-rooms-per-user, 1000), each room with
// three members and a last message; /healthz latency while four clients loop over that user's
// GET /v1/rooms, the default page and, separately, every page (?limit=200 and each Link rel="next").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Samples } from "./load.ts";
import { cpuMicros, startEchat } from "./procs.ts";

const MAX_ROOMS = 1000; // lib/config.ts maxRoomsPerUser's default
const HELPERS = 46; // pairs of helpers give the victim's rooms distinct member sets: C(46, 2) >= 1000
const LOOPS = 4;

type Figures = Record<string, number>;

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { "x-session-id": token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any, link: r.headers.get("link") };
}

async function register(base: string, login: string): Promise<{ id: number; token: string }> {
  const r = await call(base, "POST", "/v1/register", undefined, { login, password: "bench-password" });
  if (r.status !== 200) throw new Error(`register: ${r.status}`);
  const info = await call(base, "GET", "/v1/info", r.body.session_id);
  return { id: info.body.id, token: r.body.session_id };
}

async function inParallel<T>(items: T[], n: number, each: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

// The victim in MAX_ROOMS rooms of three, each with one message from a helper.
async function buildWorld(base: string, port: number) {
  const tag = Date.now().toString(36);
  const victim = await register(base, `victim${tag}`);
  const helpers: { id: number; token: string }[] = [];
  for (let i = 0; i < HELPERS; i++) helpers.push(await register(base, `h${tag}x${i}`));
  const pairs: [number, number][] = [];
  for (let i = 0; i < HELPERS && pairs.length < MAX_ROOMS; i++)
    for (let j = i + 1; j < HELPERS && pairs.length < MAX_ROOMS; j++) pairs.push([i, j]);
  await inParallel(pairs, 8, async ([i, j]) => {
    const users = [{ id: victim.id }, { id: helpers[j]!.id }];
    const room = await call(base, "POST", "/v1/rooms", helpers[i]!.token, { users });
    if (room.status !== 200) throw new Error(`room: ${room.status} ${JSON.stringify(room.body)}`);
    await oneMessage(port, room.body.id, helpers[i]!.token, `hello from ${i} to ${j}: ${"x".repeat(80)}`);
  });
  const over = await call(base, "POST", "/v1/rooms", victim.token, { users: [{ id: helpers[0]!.id }] });
  if (over.body?.error?.code !== "too_many_rooms") throw new Error(`room ${MAX_ROOMS + 1}: ${over.status}`);
  return victim.token;
}

function oneMessage(port: number, room: number, token: string, text: string) {
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/rooms/${room}/chat?session_id=${token}`);
    ws.onopen = () => ws.send(JSON.stringify({ text }));
    ws.onmessage = () => (ws.close(), resolve());
    ws.onerror = () => reject(new Error("socket failed"));
  });
}

// One /healthz at a time, back to back, for `secs`.
async function healthz(base: string, secs: number) {
  const lat = new Samples();
  const end = performance.now() + secs * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    lat.add((performance.now() - t) * 1000);
  }
  return lat.percentiles();
}

// LOOPS clients each repeating `walk` while /healthz is measured.
async function underLoad(base: string, pid: number, secs: number, walk: () => Promise<number>): Promise<Figures> {
  let stop = false;
  let requests = 0;
  const loops = Array.from({ length: LOOPS }, async () => {
    while (!stop) requests += await walk();
  });
  await Bun.sleep(300);
  const [cpu0, n0, t0] = [await cpuMicros(pid, true), requests, performance.now()];
  const h = await healthz(base, secs);
  const [cpu1, n1, t1] = [await cpuMicros(pid, true), requests, performance.now()];
  stop = true;
  await Promise.all(loops);
  const s = (t1 - t0) / 1000;
  return {
    healthz_p50_ms: h.p50,
    healthz_p99_ms: h.p99,
    list_requests_per_s: (n1 - n0) / s,
    server_main_thread_cores: (cpu1 - cpu0) / 1e6 / s,
  };
}

export async function roomListScenarios(rounds: number, secs: number): Promise<[string, Figures][]> {
  const dir = mkdtempSync(join(tmpdir(), "echat-bench-rooms-"));
  const server = await startEchat({ db: join(dir, "rooms.db"), cheapPasswords: true });
  const base = `http://127.0.0.1:${server.port}`;
  const out: [string, Figures][] = [];
  try {
    const token = await buildWorld(base, server.port);
    const page = async () => ((await call(base, "GET", "/v1/rooms", token)).status === 200 ? 1 : 0);
    const all = async () => {
      let n = 0;
      let seen = 0;
      for (let next: string | null = "/v1/rooms?limit=200"; next; n++) {
        const r = await call(base, "GET", next, token);
        seen += r.body.length;
        next = /^<([^>]+)>/.exec(r.link ?? "")?.[1] ?? null;
      }
      if (seen !== MAX_ROOMS) throw new Error(`walked ${seen} rooms`);
      return n;
    };
    const pid = server.proc.pid;
    for (let r = 0; r < rounds; r++) {
      const idle = await healthz(base, secs);
      out.push([
        `rooms-0 /healthz, idle (user in ${MAX_ROOMS} rooms)`,
        { healthz_p50_ms: idle.p50, healthz_p99_ms: idle.p99 },
      ]);
      out.push([
        `rooms-a /healthz, ${LOOPS} loops of GET /v1/rooms (default page)`,
        await underLoad(base, pid, secs, page),
      ]);
      out.push([
        `rooms-b /healthz, ${LOOPS} loops walking all ${MAX_ROOMS} rooms (limit=200)`,
        await underLoad(base, pid, secs, all),
      ]);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
