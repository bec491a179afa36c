// Soak: a few hundred clients in dozens of rooms chat for a while against a server in a child
// process, reconnecting with ?after= and logging in and out; then every acked message must be in
// history and every member must have received every message of its room exactly once.
//   bun bench/soak.ts [--seconds 60] [--clients 300] [--rooms 40]
// Not part of `bun test`. The server runs with --limits off (one address, hundreds of users) and a
// cheap argon2 (setup registers every client); both are printed.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    seconds: { type: "string", default: "60" },
    clients: { type: "string", default: "300" },
    rooms: { type: "string", default: "40" },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const ROOMS = Number(args.rooms);
const SEND_EVERY_MS = [1000, 4000]; // each client sends once per uniform(1 s, 4 s)
const RECONNECT_P = 0.05; // per send tick: drop the socket and resume with ?after=
const RELOGIN_P = 0.02; // per send tick: log in anew, log the old session out, resume
const OFFLINE_MS = [200, 3000]; // between dropping a socket and resuming

const dir = mkdtempSync(join(tmpdir(), "echat-soak-"));
const port = await new Promise<number>((resolve) => {
  const srv = net.createServer().listen(0, "127.0.0.1", () => {
    const p = (srv.address() as net.AddressInfo).port;
    srv.close(() => resolve(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const env = {
  PORT: String(port),
  HOST: "127.0.0.1",
  ECHAT_DB: join(dir, "echat.db"),
  ECHAT_LIMITS: "off",
  ECHAT_LOG_LEVEL: "warn",
  ECHAT_PASSWORD_MEMORY: "1024",
  ECHAT_PASSWORD_TIME: "1",
};
const server = Bun.spawn([process.execPath, join(import.meta.dir, "..", "main.ts")], {
  env: { ...process.env, ...env },
  stdout: "inherit",
  stderr: "inherit",
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

for (const deadline = Date.now() + 10_000; ; ) {
  const up = await fetch(`${base}/v1/info`).then(
    () => true,
    () => false,
  );
  if (up) break;
  if (Date.now() > deadline) throw new Error("server did not start");
  await Bun.sleep(50);
}

const errors = new Map<string, number>();
const error = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);
async function post(path: string, body: unknown, session?: string) {
  const res = await fetch(base + path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...(session ? { "x-session-id": session } : {}) },
  });
  const json: any = await res.json();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${json?.error?.code}`);
  return json;
}
async function inBatches<T>(items: T[], n: number, fn: (x: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn));
}

type Client = {
  i: number;
  userId: number;
  login: string;
  session: string;
  room: number;
  ws?: WebSocket;
  lastSeen: number;
  received: Set<number>;
  retried: Set<string>;
  pending: Map<string, string>;
  acked: Set<string>;
  sent: number;
  n: number;
  timer?: Timer;
  busy: boolean;
};

// Setup: users, rooms (each client's home room plus a few extra members), no messages yet.
const started = performance.now();
const clients: Client[] = [];
await inBatches([...Array(CLIENTS).keys()], 16, async (i) => {
  const login = `soak${i}`;
  const { session_id } = await post("/v1/register", { login, password: "password123" });
  const info: any = await (await fetch(`${base}/v1/info`, { headers: { "x-session-id": session_id } })).json();
  clients[i] = {
    i,
    userId: info.id,
    login,
    session: session_id,
    room: 0,
    lastSeen: 0,
    received: new Set(),
    retried: new Set(),
    pending: new Map(),
    acked: new Set(),
    sent: 0,
    n: 0,
    busy: false,
  };
});
const roomIds: number[] = [];
for (let r = 0; r < ROOMS; r++) {
  const members = clients.filter((c) => c.i % ROOMS === r);
  const extra = Array.from({ length: 3 }, (_, k) => clients[(r * 7 + k * 13) % CLIENTS]!).filter(
    (c) => !members.includes(c),
  );
  const room = await post(
    "/v1/rooms",
    { users: [...members.slice(1), ...extra].map((c) => ({ id: c.userId })) },
    members[0]!.session,
  );
  roomIds.push(room.id);
  for (const c of members) c.room = room.id;
}

let stopping = false;
function connect(c: Client) {
  const ws = new WebSocket(
    `${base.replace("http", "ws")}/v1/rooms/${c.room}/chat?session_id=${c.session}&after=${c.lastSeen}`,
  );
  c.ws = ws;
  const seen = new Set<number>(); // per socket: a message twice on one socket is a duplicate
  ws.onopen = () => {
    for (const [cid, text] of c.pending) {
      c.retried.add(cid);
      ws.send(JSON.stringify({ text, client_id: cid }));
    }
  };
  ws.onmessage = (e) => {
    const f = JSON.parse(String(e.data));
    if (f.error) return error(`frame ${f.error.code}`);
    if (f.type === "resync") return error("resync");
    if (typeof f.id !== "number") return;
    if (seen.has(f.id) && !(f.user_id === c.userId && c.retried.has(f.client_id))) error("duplicate delivery");
    seen.add(f.id);
    c.received.add(f.id);
    if (f.id > c.lastSeen) c.lastSeen = f.id;
    if (f.user_id === c.userId && c.pending.has(f.client_id)) {
      c.pending.delete(f.client_id);
      c.acked.add(f.client_id);
    }
  };
  ws.onclose = (e) => {
    if (c.ws !== ws) return; // replaced on purpose
    if (stopping) return;
    error(`unexpected close ${e.code}`);
    connect(c); // a real client resumes
  };
}

// Closes the socket and resumes on a new one once the old one is closed (no overlap).
let reconnects = 0,
  relogins = 0;
function reconnect(c: Client, swap?: () => Promise<void>) {
  c.busy = true;
  if (swap) relogins++;
  else reconnects++;
  const old = c.ws!;
  // Offline for a moment (a train through a tunnel), so the resume has a backlog to replay.
  old.onclose = () =>
    setTimeout(
      () => {
        connect(c);
        c.busy = false;
      },
      OFFLINE_MS[0]! + Math.random() * (OFFLINE_MS[1]! - OFFLINE_MS[0]!),
    );
  if (swap) swap().catch((e) => (error(`relogin ${e.message}`), old.close()));
  else old.close();
}

function tick(c: Client) {
  if (stopping) return;
  c.timer = setTimeout(() => tick(c), SEND_EVERY_MS[0]! + Math.random() * (SEND_EVERY_MS[1]! - SEND_EVERY_MS[0]!));
  if (c.busy || c.ws?.readyState !== WebSocket.OPEN) return;
  const roll = Math.random();
  if (roll < RECONNECT_P) return reconnect(c);
  if (roll < RECONNECT_P + RELOGIN_P) {
    // New session first; logging the old one out closes its socket (4001), then we resume.
    return reconnect(c, async () => {
      const old = c.session;
      c.session = (await post("/v1/login", { login: c.login, password: "password123" })).session_id;
      await post("/v1/logout", {}, old);
    });
  }
  const cid = `${c.login}-${c.n++}`;
  const text = `${c.login} says ${c.n}`;
  c.pending.set(cid, text);
  c.sent++;
  c.ws.send(JSON.stringify({ text, client_id: cid }));
}

const setupSeconds = (performance.now() - started) / 1000;
const rssStart = rss();
const samples: number[] = [rssStart];
for (const c of clients) connect(c);
const chatStart = performance.now();
for (const c of clients) c.timer = setTimeout(() => tick(c), Math.random() * SEND_EVERY_MS[1]!);
const sampler = setInterval(() => samples.push(rss()), 10_000);
await Bun.sleep(SECONDS * 1000);
stopping = true;
for (const c of clients) clearTimeout(c.timer);
clearInterval(sampler);

// Drain: wait for outstanding acks and for every client to catch up with its room.
const lastIds = new Map<number, number>();
async function history(room: number, session: string) {
  const out: any[] = [];
  for (let after = 0; ; ) {
    const page: any = await (
      await fetch(`${base}/v1/rooms/${room}/messages?after=${after}&limit=200`, {
        headers: { "x-session-id": session },
      })
    ).json();
    if (page.length === 0) return out;
    out.push(...page);
    after = page.at(-1).id;
  }
}
const drainDeadline = Date.now() + 15_000;
while (Date.now() < drainDeadline && clients.some((c) => c.pending.size > 0 || c.busy)) await Bun.sleep(100);
const histories = new Map<number, any[]>();
for (const room of roomIds) {
  const member = clients.find((c) => c.room === room)!;
  const h = await history(room, member.session);
  histories.set(room, h);
  lastIds.set(room, h.at(-1)?.id ?? 0);
}
while (Date.now() < drainDeadline && clients.some((c) => c.lastSeen < lastIds.get(c.room)!)) await Bun.sleep(100);
const drainSeconds = (performance.now() - chatStart) / 1000 - SECONDS;
const rssEnd = rss();

// Verdict.
let sent = 0,
  acked = 0,
  delivered = 0,
  lostAcked = 0,
  notDelivered = 0,
  dupStored = 0,
  unacked = 0;
const storedByCid = new Map<string, number>();
for (const h of histories.values()) {
  for (const m of h) {
    const key = `${m.user_id}/${m.client_id}`;
    if (m.client_id !== undefined && storedByCid.has(key)) dupStored++;
    storedByCid.set(key, m.id);
  }
}
for (const c of clients) {
  sent += c.sent;
  acked += c.acked.size;
  unacked += c.pending.size;
  delivered += c.received.size;
  for (const cid of c.acked) if (!storedByCid.has(`${c.userId}/${cid}`)) lostAcked++;
  for (const m of histories.get(c.room)!) if (!c.received.has(m.id)) notDelivered++;
}
stopping = true;
for (const c of clients) c.ws?.close();
server.kill("SIGTERM");
await server.exited;
rmSync(dir, { recursive: true, force: true });

const dup = (errors.get("duplicate delivery") ?? 0) + dupStored;
const errorCount = [...errors].filter(([k]) => k !== "duplicate delivery").reduce((n, [, v]) => n + v, 0);
console.log(
  `soak: ${CLIENTS} clients, ${ROOMS} rooms, ${SECONDS} s of chat (setup ${setupSeconds.toFixed(1)} s, drain ${drainSeconds.toFixed(1)} s); ${reconnects} reconnects with after=, ${relogins} login/logout swaps`,
);
console.log(
  `server: bun main.ts ${Object.entries(env)
    .filter(([k]) => k !== "ECHAT_DB" && k !== "PORT")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")}`,
);
console.log(
  `messages: sent ${sent}, acked ${acked}, unacked ${unacked}, delivered ${delivered} (message × receiving member)`,
);
console.log(
  `lost: ${lostAcked + notDelivered} (acked but not stored ${lostAcked}; stored but not delivered to a member ${notDelivered})`,
);
console.log(
  `duplicates: ${dup} (delivered twice on one socket ${errors.get("duplicate delivery") ?? 0}; stored twice ${dupStored})`,
);
console.log(
  `errors: ${errorCount} ${JSON.stringify(Object.fromEntries([...errors].filter(([k]) => k !== "duplicate delivery")))}`,
);
console.log(
  `server RSS MiB: start ${rssStart.toFixed(1)}, end ${rssEnd.toFixed(1)}, every 10 s: ${samples.map((x) => x.toFixed(0)).join(" ")}`,
);
process.exit(lostAcked + notDelivered + dup + unacked > 0 ? 1 : 0);
