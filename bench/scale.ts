// Scale-out figures: message throughput and delivery latency with 1 and 2 instances, through
// PostgreSQL LISTEN/NOTIFY or Redis, next to the embedded SQLite. Each server is a child process.
//   bun bench/scale.ts [--rooms 20] [--messages 200] [--window 20]
// Needs PostgreSQL (ECHAT_TEST_DATABASE_URL, a superuser: a fresh database per run) and, for the
// Redis rows, ECHAT_TEST_REDIS_URL. In each room the sender sits on instance A and the receiver on
// the last instance, so with 2 instances every message crosses between them.
import { SQL, type Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rooms: { type: "string", default: "20" },
    messages: { type: "string", default: "200" },
    window: { type: "string", default: "20" },
  },
});
const ROOMS = Number(args.rooms);
const MESSAGES = Number(args.messages); // per room
const WINDOW = Number(args.window); // unacknowledged messages a sender keeps in flight
const ADMIN_URL = process.env.ECHAT_TEST_DATABASE_URL ?? "";
const REDIS_URL = process.env.ECHAT_TEST_REDIS_URL ?? "";

type Setup = { name: string; instances: number; store: "sqlite" | "postgres"; redis: boolean };
const SETUPS: Setup[] = [
  { name: "SQLite, 1 instance", instances: 1, store: "sqlite", redis: false },
  { name: "PostgreSQL, 1 instance", instances: 1, store: "postgres", redis: false },
  { name: "PostgreSQL, 2 instances, LISTEN/NOTIFY", instances: 2, store: "postgres", redis: false },
  { name: "PostgreSQL + Redis, 1 instance", instances: 1, store: "postgres", redis: true },
  { name: "PostgreSQL + Redis, 2 instances", instances: 2, store: "postgres", redis: true },
];

async function admin(text: string) {
  const sql = new SQL({ url: ADMIN_URL, max: 1 });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.close();
  }
}

async function spawn(env: Record<string, string>): Promise<{ proc: Subprocess; url: string }> {
  const proc = Bun.spawn({
    cmd: [
      process.execPath,
      "main.ts",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--limits",
      "off",
      "--password-memory",
      "64",
      "--password-time",
      "1",
    ],
    cwd: `${import.meta.dir}/..`,
    env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server did not start: ${text}`);
    text += new TextDecoder().decode(value);
    const m = /listening on (http:\/\/\S+)/.exec(text);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return { proc, url: m[1]! };
    }
  }
}

async function post(base: string, path: string, body: unknown, session?: string) {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(session ? { "x-session-id": session } : {}) },
    body: JSON.stringify(body),
  });
  return res.json() as Promise<any>;
}

function open(url: string, onMessage: (f: any) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onmessage = (e) => onMessage(JSON.parse(String(e.data)));
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`cannot connect ${url}`));
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

async function run(setup: Setup) {
  const dir = mkdtempSync(join(tmpdir(), "echat-bench-"));
  const dbName = `echat_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const env: Record<string, string> = { ECHAT_DB: join(dir, "echat.db") };
  if (setup.store === "postgres") {
    await admin(`CREATE DATABASE ${dbName}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${dbName}`;
    env.DATABASE_URL = url.href;
  }
  if (setup.redis) env.REDIS_URL = REDIS_URL;
  const servers = [];
  for (let i = 0; i < setup.instances; i++) servers.push(await spawn(env)); // one after the other: one migrates
  const A = servers[0]!.url;
  const B = servers.at(-1)!.url;
  try {
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    let received = 0;
    let allReceived!: () => void;
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    const senders: Array<{ ws: WebSocket; waiters: Map<string, () => void> }> = [];
    for (let r = 0; r < ROOMS; r++) {
      const a = (await post(A, "/v1/register", { login: `s${r}`, password: "password123" })).session_id;
      const b = (await post(B, "/v1/register", { login: `r${r}`, password: "password123" })).session_id;
      const rInfo = await fetch(`${B}/v1/info`, { headers: { "x-session-id": b } }).then(
        (x) => x.json() as Promise<any>,
      );
      const room = (await post(A, "/v1/rooms", { users: [{ id: rInfo.id }] }, a)).id;
      await open(`${B.replace("http", "ws")}/v1/rooms/${room}/chat?session_id=${b}`, (f) => {
        const t = sent.get(f.client_id);
        if (t === undefined) return;
        latencies.push(performance.now() - t);
        if (++received === ROOMS * MESSAGES) allReceived();
      });
      const waiters = new Map<string, () => void>();
      const ws = await open(`${A.replace("http", "ws")}/v1/rooms/${room}/chat?session_id=${a}`, (f) =>
        waiters.get(f.client_id)?.(),
      );
      senders.push({ ws, waiters });
    }
    const start = performance.now();
    await Promise.all(
      senders.map(async ({ ws, waiters }, r) => {
        const inflight = new Set<Promise<void>>();
        for (let i = 0; i < MESSAGES; i++) {
          const id = `${r}-${i}`;
          const acked = new Promise<void>((resolve) => waiters.set(id, resolve));
          const p = acked.then(() => void inflight.delete(p));
          inflight.add(p);
          sent.set(id, performance.now());
          ws.send(JSON.stringify({ text: `message ${i} in room ${r}`, client_id: id }));
          if (inflight.size >= WINDOW) await Promise.race(inflight);
        }
        await Promise.all(inflight);
      }),
    );
    await done;
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((x, y) => x - y);
    const total = ROOMS * MESSAGES;
    console.log(
      `| ${setup.name} | ${Math.round(total / seconds)} | ${pct(latencies, 50).toFixed(1)} | ${pct(latencies, 99).toFixed(1)} |`,
    );
    for (const s of senders) s.ws.close();
  } finally {
    for (const s of servers) s.proc.kill();
    await Promise.all(servers.map((s) => s.proc.exited));
    rmSync(dir, { recursive: true, force: true });
    if (setup.store === "postgres") await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

console.log(`${ROOMS} rooms x ${MESSAGES} messages, ${WINDOW} in flight per sender; receiver on the last instance`);
console.log("| setup | messages/s | p50 ms (send to other member) | p99 ms |");
console.log("|---|---|---|---|");
for (const setup of SETUPS) {
  if (setup.store === "postgres" && !ADMIN_URL) {
    console.log(`| ${setup.name} | skipped: no ECHAT_TEST_DATABASE_URL | | |`);
    continue;
  }
  if (setup.redis && !REDIS_URL) {
    console.log(`| ${setup.name} | skipped: no ECHAT_TEST_REDIS_URL | | |`);
    continue;
  }
  await run(setup);
}
