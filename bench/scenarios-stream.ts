// Issue 15's resume figure: a user in 200 rooms who missed 10 messages in each opens a user stream
// (WS /v1/stream) and resumes with its last seq per room; time from sending the resume frame to
// "synced", at the client, with every frame parsed and checked (2,000 messages, in seq order per room,
// none missing, none twice). Each round another user sends 10 more messages to every room first.
// On SQLite, and on PostgreSQL when ECHAT_TEST_DATABASE_URL names a server (a fresh database per run).
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuMicros, startEchat } from "./procs.ts";
import { post } from "./setup.ts";
import { type RawWs, connectRaw } from "./wsclient.ts";

const ROOMS = 200;
const MISSED = 10;
const ADMIN_URL = process.env.ECHAT_TEST_DATABASE_URL ?? "";

export type ResumeStore = "SQLite" | "PostgreSQL";
export const resumeStores = (): ResumeStore[] => (ADMIN_URL ? ["SQLite", "PostgreSQL"] : ["SQLite"]);

// A stream whose frames are parsed JSON, returned once its hello came (often in the upgrade's packet).
type Stream = { ws: RawWs; on: (f: any) => void };
// Resolves when `done` accepts a frame, rejects when it throws.
function until(s: Stream, done: (f: any) => boolean) {
  return new Promise<void>((resolve, reject) => {
    s.on = (f) => {
      try {
        if (done(f)) resolve();
      } catch (e) {
        reject(e);
      }
    };
  });
}
async function openStream(port: number, token: string): Promise<Stream> {
  const decoder = new TextDecoder();
  const s: Stream = { ws: null as unknown as RawWs, on: () => {} };
  const hello = until(s, (f) => f.type === "hello");
  s.ws = await connectRaw(port, `/v1/stream?session_id=${token}`, (p) => s.on(JSON.parse(decoder.decode(p))));
  await hello;
  return s;
}

// The sender's stream: every room gets MISSED messages; resolves when all are acknowledged.
async function sendMissed(sender: Stream, rooms: number[], round: number) {
  let acks = 0;
  const all = until(sender, (f) => f.type === "message" && ++acks === rooms.length * MISSED);
  for (const room of rooms)
    for (let k = 0; k < MISSED; k++)
      sender.ws.send(JSON.stringify({ type: "message", room_id: room, text: `round ${round}, message ${k}` }));
  await all;
}

// One resume: ms from the resume frame to synced; throws unless exactly the missed frames came, in order.
// The server's CPU over the same span (read just outside it), all threads and the main thread, tells
// work from waiting (on PostgreSQL: for its answers).
async function resume(port: number, pid: number, token: string, seen: Map<number, number>) {
  const s = await openStream(port, token);
  let frames = 0;
  const synced = until(s, (f) => {
    if (f.type === "synced") return true;
    if (f.type !== "message" || f.seq <= seen.get(f.room_id)!) throw new Error(`unexpected ${JSON.stringify(f)}`);
    seen.set(f.room_id, f.seq);
    frames++;
    return false;
  });
  const [cpu0, main0] = [await cpuMicros(pid), await cpuMicros(pid, true)];
  const t0 = performance.now();
  s.ws.send(JSON.stringify({ type: "resume", rooms: Object.fromEntries(seen) }));
  await synced;
  const ms = performance.now() - t0;
  const [cpu1, main1] = [await cpuMicros(pid), await cpuMicros(pid, true)];
  s.ws.close();
  if (frames !== ROOMS * MISSED) throw new Error(`resume: ${frames} frames, not ${ROOMS * MISSED}`);
  return {
    ms_to_synced: ms,
    frames,
    server_cpu_ms: (cpu1 - cpu0) / 1000,
    server_main_thread_ms: (main1 - main0) / 1000,
  };
}

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `echat_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = async (text: string) => {
    const sql = new SQL({ url: ADMIN_URL, max: 1 });
    try {
      await sql.unsafe(text);
    } finally {
      await sql.close();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function streamResume(rounds: number, store: ResumeStore) {
  const dir = mkdtempSync(join(tmpdir(), "echat-bench-resume-"));
  const pg = store === "PostgreSQL" ? await freshDatabase() : null;
  const server = await startEchat({ db: join(dir, "r.db"), cheapPasswords: true, databaseUrl: pg?.url });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const tag = Date.now().toString(36);
    const register = async (login: string) =>
      (await post(base, "/v1/register", { login, password: "bench-pw" })).session_id as string;
    const away = await register(`r${tag}away`);
    const sender = await register(`r${tag}sender`);
    const seen = new Map<number, number>(); // room -> the last seq the away user saw
    for (let i = 0; i < ROOMS; i += 20) {
      const part = Array.from({ length: 20 }, (_, k) =>
        post(base, "/v1/rooms", { name: `resume ${i + k}`, users: [{ login: `r${tag}sender` }] }, away),
      );
      for (const room of await Promise.all(part)) seen.set(room.id, room.seq);
    }
    const out = await openStream(server.port, sender);
    const ready = until(out, (f) => f.type === "synced");
    out.ws.send('{"type":"resume","rooms":{}}');
    await ready;
    const results = [];
    for (let r = 0; r < rounds; r++) {
      await sendMissed(out, [...seen.keys()], r);
      results.push(await resume(server.port, server.proc.pid, away, seen));
    }
    out.ws.close();
    return results;
  } finally {
    await server.stop();
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
