// Medians, ratios and targets as a table.
type Kind = "server" | "baseline";
export type Row = {
  scenario: string;
  metric: string;
  server: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
};

// Targets from issue 4 (fan-out CPU per delivery and the 16-in-flight variants: issue 11): on the server/baseline ratio unless `abs` says the server figure itself.
const TARGETS: Record<string, { min?: number; max?: number; abs?: boolean }> = {
  "1 fan-out 10x10 all sending/deliveries_per_s": { min: 0.7 },
  "1 fan-out 10x10 all sending/server_cpu_us_per_delivery": { max: 1.3 },
  "1b fan-out 10x10 all sending, 16 in flight/deliveries_per_s": { min: 0.7 },
  "1b fan-out 10x10 all sending, 16 in flight/server_cpu_us_per_delivery": { max: 1.3 },
  // Issue 15: streams hold scenario 1's targets (and within 10% of its ratios: printed under the table).
  "1s fan-out 10x10 all sending, user streams/deliveries_per_s": { min: 0.7 },
  "1s fan-out 10x10 all sending, user streams/server_cpu_us_per_delivery": { max: 1.3 },
  "1sb fan-out 10x10 all sending, user streams, 16 in flight/deliveries_per_s": { min: 0.7 },
  "1sb fan-out 10x10 all sending, user streams, 16 in flight/server_cpu_us_per_delivery": { max: 1.3 },
  "R1 stream resume, 200 rooms x 10 missed (SQLite)/ms_to_synced": { max: 100, abs: true },
  "R1 stream resume, 200 rooms x 10 missed (PostgreSQL)/ms_to_synced": { max: 100, abs: true },
  "2 big room 1x100 (200 sockets), 1 sender/deliveries_per_s": { min: 0.85 },
  "2 big room 1x100 (200 sockets), 1 sender/server_cpu_us_per_delivery": { max: 1.3 },
  "2b big room 1x100 (200 sockets), 1 sender, 16 in flight/deliveries_per_s": { min: 0.85 },
  "2b big room 1x100 (200 sockets), 1 sender, 16 in flight/server_cpu_us_per_delivery": { max: 1.3 },
  "3a ingest 50 senders, 1 receiver/messages_per_s": { min: 0.6 },
  "3b ingest with client_id/messages_per_s": { min: 0.5 },
  "4 latency 100 clients, 2000 msg/s/p99_ms": { max: 3, abs: true },
  "F1 upload 10 MiB, one at a time/mib_per_s": { min: 0.7 }, // issue 17
  "F2 download 10 MiB, one at a time/mib_per_s": { min: 0.7 },
  "5 idle sockets/rss_kib_per_socket": { max: 6, abs: true },
  "6a GET /v1/info/requests_per_s": { min: 0.7 },
  "8 cold start (compiled)/ms_to_first_200": { max: 150, abs: true },
  "rooms-a /healthz, 4 loops of GET /v1/rooms (default page)/healthz_p50_ms": { max: 20, abs: true }, // issue 12
  "rooms-b /healthz, 4 loops walking all 1000 rooms (limit=200)/healthz_p50_ms": { max: 20, abs: true },
  "8 cold start (compiled)/ms_to_first_answer_no_healthz": { max: 150, abs: true },
  "S1 user search, 200k users (SQLite)/p99_ms_all": { max: 5, abs: true }, // issue 12
  "S2 message search, 1M messages in 1,000 rooms (SQLite)/newest_p99_ms_all": { max: 20, abs: true }, // issue 16
  "9a resume to 50 sockets that never read/rss_kib_per_socket": { max: 2048, abs: true }, // issue 12
  "9c read-frame flood/healthz_p50_ms": { max: 20, abs: true },
};

export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (v: number | null) =>
  v === null || Number.isNaN(v)
    ? "-"
    : Math.abs(v) >= 1000
      ? Math.round(v).toLocaleString("en-US")
      : v >= 10
        ? v.toFixed(1)
        : v.toFixed(3);

export function printTable(figures: Record<string, Record<string, Record<Kind, number[]>>>): Row[] {
  const rows: Row[] = [];
  for (const [scenario, metrics] of Object.entries(figures)) {
    for (const [metric, v] of Object.entries(metrics)) {
      const server = median(v.server);
      const baseline = median(v.baseline);
      const ratio = server !== null && baseline ? server / baseline : null;
      const t = TARGETS[`${scenario}/${metric}`];
      let target = "";
      let met: boolean | null = null;
      if (t) {
        const x = t.abs ? server : ratio;
        target = `${t.min !== undefined ? ">=" + t.min : "<=" + t.max}${t.abs ? "" : "x"}`;
        met = x === null ? null : t.min !== undefined ? x >= t.min : x <= t.max!;
      }
      rows.push({ scenario, metric, server, baseline, ratio, target, met });
    }
  }
  const table = [["scenario", "metric", "server", "baseline", "ratio", "target", ""]].concat(
    rows.map((r) => [
      r.scenario,
      r.metric,
      fmt(r.server),
      fmt(r.baseline),
      r.ratio === null ? "-" : r.ratio.toFixed(2) + "x",
      r.target,
      r.met === null ? "" : r.met ? "ok" : "MISSED",
    ]),
  );
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  let last = "";
  for (const row of table) {
    const name = row[0] === last ? "" : row[0]!;
    last = row[0]!;
    console.log(
      [name, ...row.slice(1)]
        .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join("  "),
    );
  }
  return rows;
}

// The same rows as a Markdown table, for docs/performance.md.
export function markdownTable(rows: Row[]): string {
  const out = ["| scenario | metric | server | baseline | ratio | target | |", "|---|---|--:|--:|--:|---|---|"];
  let last = "";
  for (const r of rows) {
    const name = r.scenario === last ? "" : r.scenario;
    last = r.scenario;
    out.push(
      `| ${name} | ${r.metric} | ${fmt(r.server)} | ${fmt(r.baseline)} | ${r.ratio === null ? "-" : r.ratio.toFixed(2) + "x"} | ${r.target} | ${r.met === null ? "" : r.met ? "ok" : "**missed**"} |`,
    );
  }
  return out.join("\n") + "\n";
}

// Issue 15: the user stream's ratios against the room socket's, same run (each ratio against the same
// bare pub/sub): deliveries at least 0.9x, CPU per delivery at most 1.1x.
const STREAM_PAIRS: [string, string][] = [
  ["1 fan-out 10x10 all sending", "1s fan-out 10x10 all sending, user streams"],
  ["1b fan-out 10x10 all sending, 16 in flight", "1sb fan-out 10x10 all sending, user streams, 16 in flight"],
];

export function streamVsRoomSocket(rows: Row[]): string[] {
  const ratio = (scenario: string, metric: string) =>
    rows.find((r) => r.scenario === scenario && r.metric === metric)?.ratio ?? null;
  const out: string[] = [];
  for (const [room, stream] of STREAM_PAIRS) {
    const parts = (
      [
        ["deliveries_per_s", 0.9, ">="],
        ["server_cpu_us_per_delivery", 1.1, "<="],
      ] as const
    ).flatMap(([metric, limit, op]) => {
      const a = ratio(room, metric);
      const b = ratio(stream, metric);
      if (a === null || b === null) return [];
      const x = b / a;
      const ok = op === ">=" ? x >= limit : x <= limit;
      return [
        `${metric} ${b.toFixed(2)}x / ${a.toFixed(2)}x = ${x.toFixed(2)} (${op}${limit} ${ok ? "ok" : "MISSED"})`,
      ];
    });
    if (parts.length) out.push(`${stream.split(" ")[0]} vs ${room.split(" ")[0]}: ${parts.join("; ")}`);
  }
  return out;
}
