// L1: failed logins with a new login and a new client address each time (limits on, --trust-proxy, the
// address in X-Forwarded-For), in three equal phases; the server's RSS after each. With bounded buckets
// the third phase adds (almost) nothing: growth per phase falls to ~0 once the maps are full.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rssBytes, spawnChild } from "./procs.ts";

const CONCURRENCY = 32;

// cwd: another checkout's main.ts (to compare with a version before bounded buckets).
export async function loginFloodScenario(perPhase: number, cwd?: string) {
  const dir = mkdtempSync(join(tmpdir(), "echat-logins-"));
  const env = { ECHAT_DB: join(dir, "logins.db"), ECHAT_LOG_LEVEL: "silent", ECHAT_LIMITS: "on" };
  const server = await spawnChild("server", ["bun", "main.ts"], { ...env, ECHAT_TRUST_PROXY: "on" }, "/v1/info", cwd);
  const url = `http://127.0.0.1:${server.port}/v1/login`;
  let n = 0;
  const statuses: Record<number, number> = {};
  const phase = async () => {
    const end = n + perPhase;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (n < end) {
          const i = n++;
          const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
          const r = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": address },
            body: JSON.stringify({ login: `guess-${i}-${"x".repeat(200)}`, password: "wrong-password" }),
          });
          await r.arrayBuffer();
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        }
      }),
    );
    Bun.gc(true);
    return { rss: await rssBytes(server.proc.pid), rate: perPhase / ((performance.now() - t) / 1000) };
  };
  try {
    const before = await rssBytes(server.proc.pid);
    const [a, b, c] = [await phase(), await phase(), await phase()];
    const mib = (x: number) => x / 2 ** 20;
    return {
      attempts: n,
      rss_before_mib: mib(before),
      rss_after_phase1_mib: mib(a.rss),
      rss_after_phase2_mib: mib(b.rss),
      rss_after_phase3_mib: mib(c.rss),
      growth_phase3_mib: mib(c.rss - b.rss),
      requests_per_s: (a.rate + b.rate + c.rate) / 3,
      answered_422: statuses[422] ?? 0,
      answered_429: statuses[429] ?? 0,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
