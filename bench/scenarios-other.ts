// HTTP rate (wrk when installed, else a Bun fetch loop), login burst, cold start of compiled binaries.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuMicros, freePort } from "./procs.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CONCURRENCY = 50;

export async function httpRate(url: string, token: string | undefined, secs: number): Promise<number> {
  const headers = token ? { "x-session-id": token } : undefined;
  const check = await fetch(url, { headers });
  if (check.status !== 200) throw new Error(`${url}: ${check.status} ${await check.text()}`);
  if (Bun.which("wrk")) {
    const args = [
      "wrk",
      "-t1",
      `-c${CONCURRENCY}`,
      `-d${secs}s`,
      ...(token ? ["-H", `X-Session-Id: ${token}`] : []),
      url,
    ];
    const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (!m || /Non-2xx/.test(out)) throw new Error(`wrk ${url}: ${out}`);
    return Number(m[1]);
  }
  let done = 0;
  const end = performance.now() + secs * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const r = await fetch(url, { headers });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
        done++;
      }
    }),
  );
  return done / secs;
}

// Logins at the server's configured argon2id cost: first alone (rate and CPU per login), then
// alongside a chat load, whose latency is what a login burst costs everyone else.
export async function loginBurst(
  base: string,
  pid: number,
  secs: number,
  chat: () => Promise<{ p50_ms: number; p99_ms: number; max_ms: number }>,
) {
  const login = `blogin${Date.now().toString(36)}`;
  const body = JSON.stringify({ login, password: "bench-password" });
  const reg = await fetch(`${base}/v1/register`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  if (reg.status !== 200) throw new Error(`register: ${reg.status}`);
  let stop = false;
  let done = 0;
  const loop = async () => {
    while (!stop) {
      const r = await fetch(`${base}/v1/login`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`login: ${r.status}`);
      done++;
    }
  };
  const burst = () => {
    stop = false;
    return Array.from({ length: 4 }, loop);
  };
  let loops = burst();
  await Bun.sleep(300);
  const [cpu0, n0, t0] = [await cpuMicros(pid), done, performance.now()];
  await Bun.sleep(secs * 1000);
  const [cpu1, n1, t1] = [await cpuMicros(pid), done, performance.now()];
  stop = true;
  await Promise.all(loops);
  loops = burst();
  const underBurst = await chat();
  stop = true;
  await Promise.all(loops);
  return {
    logins_per_s: (n1 - n0) / ((t1 - t0) / 1000),
    server_cpu_ms_per_login: (cpu1 - cpu0) / 1000 / (n1 - n0),
    chat_p50_ms_under_burst: underBurst.p50_ms,
    chat_p99_ms_under_burst: underBurst.p99_ms,
    chat_max_ms_under_burst: underBurst.max_ms,
  };
}

async function build(entries: string[], out: string) {
  const args = ["bun", "build", "--compile", "--minify", "--root", ".", ...entries, "--outfile", out];
  const p = Bun.spawn(args, { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`building ${entries[0]} failed`);
}

// The binary users get: package.json's build script with its --outfile pointed elsewhere; without one,
// the server and its message-writer worker (a second entrypoint) with the same flags as the baseline.
async function buildServer(out: string) {
  const script: string | undefined = (await Bun.file(join(ROOT, "package.json")).json()).scripts?.build;
  if (!script) return build(["main.ts", "lib/store/sqlite/writer.worker.ts"], out);
  const args = script.split(" ").map((a) => (a.startsWith("dist/") ? out : a));
  const p = Bun.spawn(args, { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`bun run build failed`);
}

// ms from exec to the first 200 from /healthz, with a fresh database each time. A build without
// /healthz (404) is timed to its first HTTP answer instead, and says so.
async function firstOk(bin: string, dir: string): Promise<{ ms: number; healthz: boolean }> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    ECHAT_DB: join(dir, `cold-${port}.db`),
    ECHAT_LOG_LEVEL: "silent",
  };
  const t0 = performance.now();
  const proc = Bun.spawn([bin], { env, stdout: "ignore", stderr: "inherit" });
  try {
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        const ms = performance.now() - t0;
        if (r.status === 200 || r.status === 404) return { ms, healthz: r.status === 200 };
        throw new Error(`/healthz answered ${r.status}`);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith("/healthz")) throw e;
        if (proc.exitCode !== null || performance.now() - t0 > 10000) throw new Error(`${bin} did not start`);
        await Bun.sleep(1);
      }
    }
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

export async function coldStart(rounds: number) {
  const dir = mkdtempSync(join(tmpdir(), "echat-cold-"));
  try {
    const server = existsSync(join(ROOT, "dist/echat")) ? join(ROOT, "dist/echat") : join(dir, "echat");
    if (!server.startsWith(ROOT)) await buildServer(server);
    const baseline = join(dir, "baseline");
    await build(["bench/baseline.ts"], baseline);
    const out = {
      server: [] as { ms: number; healthz: boolean }[],
      baseline: [] as { ms: number; healthz: boolean }[],
    };
    for (let r = 0; r < rounds; r++) {
      out.server.push(await firstOk(server, dir));
      out.baseline.push(await firstOk(baseline, dir));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
