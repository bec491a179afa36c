// `bun run bench [--quick]`: every scenario against the echat server and the bare-Bun baseline,
// alternating, several rounds; medians, ratios server/baseline, a table and bench/results/latest.json.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT, closedLoop, idleSockets, openLoop, type ClientSpec, type Session } from "./load.ts";
import {
  type Child,
  cpuMicros,
  diskCommitMs,
  machine,
  rssBytes,
  selfCpuMicros,
  startBaseline,
  startEchat,
} from "./procs.ts";
import {
  type RoomRef,
  type World,
  baselinePath,
  baselineStreamSpec,
  serverPath,
  serverStreamSpec,
  setupWorld,
} from "./setup.ts";
import { coldStart, httpRate, loginBurst } from "./scenarios-other.ts";
import { loginFloodScenario } from "./scenarios-logins.ts";
import { readFlood, silentResumes } from "./scenarios-memory.ts";
import { roomListScenarios } from "./scenarios-rooms.ts";
import { searchScenario } from "./scenarios-search.ts";
import { FULL_SIZE, messageSearchScenario } from "./scenarios-message-search.ts";
import { resumeStores, streamResume } from "./scenarios-stream.ts";
import {
  bareFiles,
  downloadThroughput,
  echatFiles,
  type FileSide,
  fileBody,
  MIB,
  uploadThroughput,
  withUploads,
} from "./scenarios-files.ts";
import { markdownTable, printTable, type Row, streamVsRoomSocket } from "./report.ts";
import { pushScenario } from "./scenarios-push.ts";

const quick = Bun.argv.includes("--quick");
// --only=1,3a,6: scenarios whose name starts with one of these (while working on one figure).
const only = Bun.argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
const want = (name: string) => !only || only.some((o) => name.startsWith(o));
const P = quick
  ? { rounds: 2, secs: 0.8, warm: 0.3, idleRounds: 1, httpSecs: 1, coldRounds: 3, resumeRounds: 2 }
  : { rounds: 3, secs: 3, warm: 0.5, idleRounds: 2, httpSecs: 3, coldRounds: 5, resumeRounds: 5 };

type Kind = "server" | "baseline";
type Target = {
  kind: Kind;
  child: Child;
  path: (room: RoomRef, user: number) => string;
  stream: (fanRoom: number, user: number, sender: boolean) => ClientSpec;
  files: FileSide;
};

// figures[scenario][metric][kind] = one value per round
const figures: Record<string, Record<string, Record<Kind, number[]>>> = {};
function record(scenario: string, kind: Kind, values: Record<string, number>) {
  const s = (figures[scenario] ??= {});
  for (const [metric, v] of Object.entries(values)) (s[metric] ??= { server: [], baseline: [] })[kind].push(v);
}

async function drive(t: Target, session: Session) {
  const pid = t.child.proc.pid;
  const c = session.counters;
  session.start();
  await Bun.sleep(P.warm * 1000);
  const [cpu0, main0, self0, t0] = [
    await cpuMicros(pid),
    await cpuMicros(pid, true),
    selfCpuMicros(),
    performance.now(),
  ];
  c.measuring = true;
  await Bun.sleep(P.secs * 1000);
  c.measuring = false;
  const [cpu1, main1, self1, t1] = [
    await cpuMicros(pid),
    await cpuMicros(pid, true),
    selfCpuMicros(),
    performance.now(),
  ];
  const { deliveries, acks } = c;
  await session.stop();
  const secs = (t1 - t0) / 1000;
  const lat = c.latency.percentiles();
  return {
    deliveries_per_s: deliveries / secs,
    messages_per_s: acks / secs,
    p50_ms: lat.p50,
    p99_ms: lat.p99,
    max_ms: lat.max,
    server_cpu_us_per_delivery: (cpu1 - cpu0) / deliveries,
    server_cpu_cores: (cpu1 - cpu0) / 1e6 / secs,
    server_main_thread_cores: (main1 - main0) / 1e6 / secs,
    loadgen_cpu_cores: (self1 - self0) / 1e6 / secs,
    loadgen_cpu_us_per_delivery: (self1 - self0) / deliveries,
  };
}

const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

// Files (issue 17): made once, on first use; `uploads` numbers every upload of the run (file names, users).
let body10: Uint8Array<ArrayBuffer> | undefined;
let body25: Uint8Array<ArrayBuffer> | undefined;
let uploads = 0;
const nextUploads = (n = 10000) => ((uploads += n), uploads - n);

const chatScenarios: Record<string, (t: Target) => Promise<Session>> = {
  "1 fan-out 10x10 all sending": (t) =>
    closedLoop(
      t.child.port,
      range(0, 100).map(
        (u): ClientSpec => ({ path: t.path({ kind: "fan", index: Math.floor(u / 10) }, u), sender: true }),
      ),
      8,
      { sampleEvery: 16 },
    ),
  "1b fan-out 10x10 all sending, 16 in flight": (t) =>
    closedLoop(
      t.child.port,
      range(0, 100).map(
        (u): ClientSpec => ({ path: t.path({ kind: "fan", index: Math.floor(u / 10) }, u), sender: true }),
      ),
      16,
      { sampleEvery: 16 },
    ),
  // Issue 15: scenario 1 over user streams, one per user (the baseline: scenario 1's bare room sockets).
  "1s fan-out 10x10 all sending, user streams": (t) =>
    closedLoop(
      t.child.port,
      range(0, 100).map((u) => t.stream(Math.floor(u / 10), u, true)),
      8,
      { sampleEvery: 16 },
    ),
  "1sb fan-out 10x10 all sending, user streams, 16 in flight": (t) =>
    closedLoop(
      t.child.port,
      range(0, 100).map((u) => t.stream(Math.floor(u / 10), u, true)),
      16,
      { sampleEvery: 16 },
    ),
  "2 big room 1x100 (200 sockets), 1 sender": (t) =>
    closedLoop(
      t.child.port,
      range(0, 200).map((i): ClientSpec => ({ path: t.path({ kind: "big" }, i % 100), sender: i === 0 })),
      64,
      { sampleEvery: 16 },
    ),
  "2b big room 1x100 (200 sockets), 1 sender, 16 in flight": (t) =>
    closedLoop(
      t.child.port,
      range(0, 200).map((i): ClientSpec => ({ path: t.path({ kind: "big" }, i % 100), sender: i === 0 })),
      16,
      { sampleEvery: 16 },
    ),
  "3a ingest 50 senders, 1 receiver": (t) =>
    closedLoop(
      t.child.port,
      range(0, 51).map((u): ClientSpec => ({ path: t.path({ kind: "ingest" }, u), sender: u < 50 })),
      8,
      { sampleEvery: 16 },
    ),
  "3b ingest with client_id": (t) =>
    closedLoop(
      t.child.port,
      range(0, 51).map((u): ClientSpec => ({ path: t.path({ kind: "ingest" }, u), sender: u < 50 })),
      8,
      { clientId: "v4", sampleEvery: 16 },
    ),
  "3c ingest with time-ordered client_id": (t) =>
    closedLoop(
      t.child.port,
      range(0, 51).map((u): ClientSpec => ({ path: t.path({ kind: "ingest" }, u), sender: u < 50 })),
      8,
      { clientId: "v7", sampleEvery: 16 },
    ),
  "4 latency 100 clients, 2000 msg/s": (t) =>
    openLoop(
      t.child.port,
      range(0, 100).map(
        (u): ClientSpec => ({ path: t.path({ kind: "fan", index: Math.floor(u / 10) }, u), sender: true }),
      ),
      2000,
    ),
  // Issue 17: scenario 4 while 25 MiB files are uploaded back to back, one at a time, by the chat users.
  "4u latency 100 clients, 2000 msg/s, 25 MiB uploads running": async (t) =>
    withUploads(
      await openLoop(
        t.child.port,
        range(0, 100).map(
          (u): ClientSpec => ({ path: t.path({ kind: "fan", index: Math.floor(u / 10) }, u), sender: true }),
        ),
        2000,
      ),
      t.files,
      (body25 ??= fileBody(25 * MIB)),
      nextUploads(),
    ),
};

// Issue 17: a 10 MiB file up, then down, one request at a time, against the bare /upload and /download.
async function fileRounds(targets: Target[]) {
  const f1 = "F1 upload 10 MiB, one at a time";
  const f2 = "F2 download 10 MiB, one at a time";
  for (let r = 0; r < P.rounds && (want(f1) || want(f2)); r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      body10 ??= fileBody(10 * MIB);
      const pid = t.child.proc.pid;
      if (want(f1)) record(f1, t.kind, await uploadThroughput(t.files, pid, P.secs, body10, nextUploads()));
      if (want(f2)) record(f2, t.kind, await downloadThroughput(t.files, pid, P.secs, body10, nextUploads()));
    }
  }
}

async function idleRound(kind: Kind, db: string, world: World) {
  const child = kind === "server" ? await startEchat({ db, cheapPasswords: true }) : await startBaseline();
  try {
    const path = kind === "server" ? serverPath(world) : baselinePath;
    const paths = range(0, 10000).map((i) => path({ kind: "fan", index: Math.floor((i % 100) / 10) }, i % 100));
    await Bun.sleep(200);
    const before = await rssBytes(child.proc.pid);
    const idle = await idleSockets(child.port, paths);
    await Bun.sleep(500);
    const after = await rssBytes(child.proc.pid);
    idle.close();
    record("5 idle sockets", kind, {
      sockets: idle.count,
      rss_before_mib: before / 2 ** 20,
      rss_kib_per_socket: (after - before) / 1024 / idle.count,
    });
  } finally {
    await child.stop();
  }
}

async function main() {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "echat-bench-"));
  const db = join(dir, "bench.db");
  const info = { ...(await machine()), disk_before: await diskCommitMs(quick ? 300 : 1000) };
  console.log(
    `echat bench${quick ? " --quick" : ""}: ${info.cores} cores, ${info.cpu}, Bun ${info.bun}, load ${info.loadavg.join(" ")}; client: ${CLIENT}`,
  );
  console.log(
    `disk: one-row FULL commits ${Math.round(info.disk_before.commits_per_s)}/s, p99 ${info.disk_before.p99_ms} ms`,
  );

  let server = await startEchat({ db, cheapPasswords: true });
  const baseline = await startBaseline();
  const base = `http://127.0.0.1:${server.port}`;
  const world = await setupWorld(base);
  const targets: Target[] = [
    {
      kind: "server",
      child: server,
      path: serverPath(world),
      stream: serverStreamSpec(world),
      files: echatFiles(server.port, world),
    },
    {
      kind: "baseline",
      child: baseline,
      path: baselinePath,
      stream: baselineStreamSpec,
      files: bareFiles(baseline.port),
    },
  ];
  try {
    for (const [name, make] of Object.entries(chatScenarios)) {
      if (!want(name)) continue;
      for (let r = 0; r < P.rounds; r++) {
        for (const t of r % 2 ? [...targets].reverse() : targets) record(name, t.kind, await drive(t, await make(t)));
      }
      process.stdout.write(".");
    }
    await fileRounds(targets);
    process.stdout.write(".");

    const http: [string, string, string][] = [
      ["6a GET /v1/info", "/v1/info", world.tokens[0]!],
      ["6b GET /v1/rooms (20 rooms)", "/v1/rooms", world.listUser],
      ["6c GET /v1/rooms/:id/messages", `/v1/rooms/${world.historyRoom}/messages`, world.tokens[0]!],
    ];
    for (let r = 0; r < P.rounds && want("6"); r++) {
      const bare = await httpRate(`http://127.0.0.1:${baseline.port}/json`, undefined, P.httpSecs);
      for (const [name, path, token] of http) {
        record(name, "baseline", { requests_per_s: bare });
        record(name, "server", { requests_per_s: await httpRate(base + path, token, P.httpSecs) });
      }
    }
    process.stdout.write(".");

    await server.stop();
    await baseline.stop();
    for (let r = 0; r < P.idleRounds && want("5"); r++)
      for (const k of r % 2 ? (["baseline", "server"] as const) : (["server", "baseline"] as const))
        await idleRound(k, db, world);
    process.stdout.write(".");

    const memory = {
      "9a resume to 50 sockets that never read": () => silentResumes(),
      "9b same, 4000-character messages": () => silentResumes(true),
      "9c read-frame flood": readFlood,
    };
    for (const [name, run] of Object.entries(memory))
      for (let r = 0; r < P.rounds && want(name); r++) record(name, "server", await run(P.secs));

    // Login at the default argon2id cost: the same database, restarted with production settings.
    if (want("7")) {
      server = await startEchat({ db, cheapPasswords: false });
      const fanSpecs = (t: Target) =>
        range(0, 100).map(
          (u): ClientSpec => ({ path: t.path({ kind: "fan", index: Math.floor(u / 10) }, u), sender: true }),
        );
      const t: Target = {
        kind: "server",
        child: server,
        path: serverPath(world),
        stream: serverStreamSpec(world),
        files: echatFiles(server.port, world),
      };
      const login = await loginBurst(`http://127.0.0.1:${server.port}`, server.proc.pid, P.secs + P.warm, async () =>
        drive(t, await openLoop(server.port, fanSpecs(t), 2000)),
      );
      record("7 login burst (default argon2id)", "server", login);
      await server.stop();
    }
    process.stdout.write(".");

    // Issue 18: "server" is the chat with 100 offline members subscribed to push, "baseline" the same without.
    const P1 = "P1 push: 2000 msg/s, 100 offline members subscribed (baseline: none subscribed)";
    for (const [kind, v] of want("P1")
      ? await pushScenario(Math.max(P.rounds, 5), (child, s) => drive({ child } as Target, s))
      : [])
      record(P1, kind, v);
    process.stdout.write(".");

    for (const store of want("R1") ? resumeStores() : [])
      for (const v of await streamResume(P.resumeRounds, store))
        record(`R1 stream resume, 200 rooms x 10 missed (${store})`, "server", v);
    process.stdout.write(".");

    for (const [name, v] of want("rooms") ? await roomListScenarios(P.rounds, P.secs) : []) record(name, "server", v);

    for (const [kind, result] of Object.entries(want("8") ? await coldStart(P.coldRounds) : {})) {
      for (const { ms, healthz } of result) {
        record(
          "8 cold start (compiled)",
          kind as Kind,
          healthz ? { ms_to_first_200: ms } : { ms_to_first_answer_no_healthz: ms },
        );
      }
    }
    const search = want("S1") ? await searchScenario(200_000, quick ? 100 : 300, P.rounds) : [];
    for (const r of search) record("S1 user search, 200k users (SQLite)", "server", r);
    // Message search: 1,000,000 messages (--quick: 100,000), a user in 50 of 1,000 rooms.
    const size = quick ? { ...FULL_SIZE, messages: 100_000, perKind: 50, rounds: 2 } : FULL_SIZE;
    const messages = want("S2") ? await messageSearchScenario(size) : [];
    for (const r of messages) record("S2 message search, 1M messages in 1,000 rooms (SQLite)", "server", r);
    if (want("L1"))
      record(
        "L1 failed-login flood, new login and address each",
        "server",
        await loginFloodScenario(quick ? 30_000 : 100_000),
      );
    console.log("");
  } finally {
    await server.stop().catch(() => {});
    await baseline.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }

  const rows: Row[] = printTable(figures);
  const streams = streamVsRoomSocket(rows);
  if (streams.length) console.log("\nuser stream / room socket (ratios to bare, same run):\n" + streams.join("\n"));
  const out = {
    when: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    machine: { ...info, loadavg_after: (await machine()).loadavg, disk_after: await diskCommitMs(quick ? 300 : 1000) },
    params: P,
    client: CLIENT,
    seconds: (performance.now() - started) / 1000,
    figures,
    rows,
  };
  // A partial run (--only) does not replace the latest full or quick run.
  const name = only ? "partial" : "latest";
  await Bun.write(new URL(`results/${name}.json`, import.meta.url), JSON.stringify(out, null, 2) + "\n");
  const head =
    `${out.when}, ${out.mode} run, ${out.seconds.toFixed(0)} s. ${info.cores} cores, ${info.cpu}, Bun ${info.bun}; ` +
    `load average ${info.loadavg.join(" ")} before, ${out.machine.loadavg_after.join(" ")} after; client: ${CLIENT}. ` +
    `Disk, one-row commits with synchronous=FULL: p99 ${info.disk_before.p99_ms} ms before, ${out.machine.disk_after.p99_ms} ms after.\n\n`;
  const tail = streams.length
    ? `\nUser stream / room socket (ratios to bare, same run):\n\n- ${streams.join("\n- ")}\n`
    : "";
  await Bun.write(new URL(`results/${name}.md`, import.meta.url), head + markdownTable(rows) + tail);
  console.log(
    `\n${out.seconds.toFixed(0)} s; load average after: ${out.machine.loadavg_after.join(" ")}; bench/results/${name}.json and .md written`,
  );
}

await main();
