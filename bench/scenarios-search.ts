// S1: user search (GET /v1/users?q=) at 200k users. The users are inserted straight into a fresh
// SQLite database (the schema's triggers fill the trigram index as the API's inserts would), then
// searches of several lengths are timed one at a time from the client: p50/p99 per length.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { foldLogin } from "../lib/validate.ts";
import { type Child, spawnChild } from "./procs.ts";

const LENGTHS = [1, 2, 3, 4, 6, 10];
const SYLLABLES = "ka ri to mi sa lo ne vu an el or is ber gar tin son lee mar dan ova jo hu pe qi xe zo".split(" ");
const CYRILLIC = "ва ся ми ша ко ля да ро ни ка".split(" ");

// A seeded stream, so every run searches the same users with the same queries.
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// Names like real ones: two to four syllables, sometimes a separator and digits, one in ten Cyrillic.
function makeLogins(n: number, random: () => number): string[] {
  const pick = <T>(a: T[]) => a[Math.floor(random() * a.length)]!;
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < n) {
    const set = random() < 0.1 ? CYRILLIC : SYLLABLES;
    let login = Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(set)).join("");
    if (random() < 0.5)
      login += pick(["", "_", ".", "-"]) + Math.floor(random() * 10 ** (1 + Math.floor(random() * 4)));
    if (random() < 0.3) login = login[0]!.toUpperCase() + login.slice(1);
    const folded = foldLogin(login);
    if (seen.has(folded)) continue;
    seen.add(folded);
    out.push(login);
  }
  return out;
}

export function startServer(db: string): Promise<Child> {
  const env = { ECHAT_DB: db, ECHAT_LOG_LEVEL: "silent", ECHAT_LIMITS: "off", ECHAT_PASSWORD_MEMORY: "8" };
  return spawnChild("server", ["bun", "main.ts"], { ...env, ECHAT_PASSWORD_TIME: "1" }, "/v1/info");
}

export const percentile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

// users: how many to insert; perLength: searches timed per query length and round.
export async function searchScenario(users: number, perLength: number, rounds: number) {
  const dir = mkdtempSync(join(tmpdir(), "echat-search-"));
  const db = join(dir, "search.db");
  let server = await startServer(db); // creates the schema
  const base = () => `http://127.0.0.1:${server.port}`;
  const reg = await fetch(`${base()}/v1/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ login: "searcher", password: "bench-password" }),
  });
  const token = ((await reg.json()) as { session_id: string }).session_id;
  await server.stop();

  const random = prng(12);
  const logins = makeLogins(users, random);
  const started = performance.now();
  const file = new Database(db);
  const { hash } = file.query<{ hash: string }, []>("SELECT password_hash AS hash FROM users").get()!;
  const insert = file.query("INSERT INTO users (login, login_folded, password_hash, created_at) VALUES (?, ?, ?, 0)");
  file.transaction(() => {
    for (const login of logins) insert.run(login, foldLogin(login), hash);
  })();
  file.close();
  const insertSecs = (performance.now() - started) / 1000;

  server = await startServer(db);
  const results: Record<string, number>[] = [];
  try {
    // Queries: a substring of a random login at a random place (a third of them its start), folded.
    const query = (len: number) => {
      const cps = [...foldLogin(logins[Math.floor(random() * logins.length)]!)];
      const at = random() < 0.33 ? 0 : Math.floor(random() * Math.max(1, cps.length - len + 1));
      return cps.slice(at, at + len).join("");
    };
    const time = async (q: string) => {
      const t = performance.now();
      const r = await fetch(`${base()}/v1/users?q=${encodeURIComponent(q)}`, { headers: { "x-session-id": token } });
      if (r.status !== 200) throw new Error(`search ${q}: ${r.status}`);
      const found = ((await r.json()) as unknown[]).length;
      return { ms: performance.now() - t, found };
    };
    for (let i = 0; i < 200; i++) await time(query(LENGTHS[i % LENGTHS.length]!)); // warm up
    for (let r = 0; r < rounds; r++) {
      const figures: Record<string, number> = { users, insert_s: insertSecs };
      const all: number[] = [];
      for (const len of LENGTHS) {
        const ms: number[] = [];
        let found = 0;
        for (let i = 0; i < perLength; i++) {
          const t = await time(query(len));
          ms.push(t.ms);
          found += t.found;
        }
        ms.sort((a, b) => a - b);
        all.push(...ms);
        figures[`p50_ms_len${len}`] = percentile(ms, 0.5);
        figures[`p99_ms_len${len}`] = percentile(ms, 0.99);
        figures[`found_avg_len${len}`] = found / perLength;
      }
      all.sort((a, b) => a - b);
      figures.p99_ms_all = percentile(all, 0.99);
      figures.max_ms_all = all.at(-1)!;
      results.push(figures);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
