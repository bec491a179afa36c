// Child processes under test: start on 127.0.0.1, wait until they answer, read their CPU and RSS from /proc.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

export type Child = { name: string; port: number; proc: Subprocess; stop: () => Promise<void> };

export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

// ulimit -n is raised through sh: the idle scenario holds 10,000 sockets.
export async function spawnChild(
  name: string,
  cmd: string[],
  env: Record<string, string>,
  probe = "/healthz",
  cwd = ROOT,
): Promise<Child> {
  const port = await freePort();
  const quoted = cmd.map((a) => `'${a}'`).join(" ");
  const proc = Bun.spawn(["sh", "-c", `ulimit -n 20000 2>/dev/null; exec ${quoted}`], {
    cwd,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdout: "ignore",
    stderr: "inherit",
  });
  const deadline = performance.now() + 15000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}${probe}`);
      break;
    } catch {
      if (proc.exitCode !== null || performance.now() > deadline) throw new Error(`${name} did not start`);
      await Bun.sleep(5);
    }
  }
  return {
    name,
    port,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await proc.exited;
      clearTimeout(t);
    },
  };
}

export function startBaseline() {
  return spawnChild("baseline", ["bun", "bench/baseline.ts"], {});
}

// databaseUrl: PostgreSQL instead of the SQLite file `db`.
export type ServerOpts = {
  db: string;
  cheapPasswords: boolean;
  synchronous?: "full" | "normal";
  databaseUrl?: string;
  env?: Record<string, string>; // more settings, by environment variable
};

export function startEchat(o: ServerOpts) {
  const env: Record<string, string> = { ECHAT_DB: o.db, ECHAT_LOG_LEVEL: "silent", ECHAT_LIMITS: "off", ...o.env };
  if (o.cheapPasswords) Object.assign(env, { ECHAT_PASSWORD_MEMORY: "8", ECHAT_PASSWORD_TIME: "1" });
  if (o.synchronous) env.ECHAT_SYNCHRONOUS = o.synchronous;
  if (o.databaseUrl) env.DATABASE_URL = o.databaseUrl;
  // --profile=DIR (bun run bench): a markdown CPU profile of the server, written when it stops.
  const dir = Bun.argv.find((a) => a.startsWith("--profile="))?.slice(10);
  const prof = dir ? ["--cpu-prof-md", "--cpu-prof-dir", dir] : [];
  // --server-dir=DIR: run another checkout's main.ts (to compare two versions against one baseline).
  const cwd = Bun.argv.find((a) => a.startsWith("--server-dir="))?.slice(13) ?? ROOT;
  return spawnChild("server", ["bun", ...prof, "main.ts"], env, "/v1/info", cwd);
}

// utime + stime of the whole process (every thread), or of its main thread alone, in µs.
export async function cpuMicros(pid: number, mainThread = false): Promise<number> {
  const stat = await Bun.file(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

export async function rssBytes(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

export function selfCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export async function machine() {
  const cpuinfo = await Bun.file("/proc/cpuinfo").text();
  const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).map(Number);
  return {
    cores: navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    bun: Bun.version,
    loadavg: load,
  };
}

// What an fsync costs on this disk right now: one-row commits with synchronous=FULL for `ms`.
// Other processes writing to the same disk show here first; the server's acks wait for this.
export async function diskCommitMs(ms = 1000) {
  const { Database } = await import("bun:sqlite");
  const dir = mkdtempSync(join(tmpdir(), "echat-disk-"));
  const db = new Database(join(dir, "probe.db"), { create: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = FULL");
  db.run("CREATE TABLE IF NOT EXISTS t (x)");
  const insert = db.query("INSERT INTO t VALUES (1)");
  const lat: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    db.transaction(() => insert.run())();
    lat.push(performance.now() - t);
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  const at = (q: number) => Math.round(lat[Math.floor(q * (lat.length - 1))]! * 1000) / 1000;
  return { commits_per_s: lat.length / (ms / 1000), p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1) };
}
