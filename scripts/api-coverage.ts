// CI, after both test runs: which documented statuses, error codes and frames the suite observed
// (test/support/contract.ts writes them to $ECHAT_API_COVERAGE_DIR, one file per run and store).
// Fails when a documented status or error code of an operation, a generic answer, or a server frame was never
// observed. Error frames' codes and close codes never observed are listed, not failed.
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLOSE, type ErrorCode } from "../lib/errors.ts";
import { SERVER_FRAMES } from "../lib/http/api/asyncapi.ts";
import { errorsByStatus, UNEXPECTED } from "../lib/http/api/openapi.ts";
import { OPERATIONS } from "../lib/http/api/operations.ts";
import { FRAME_ERRORS } from "../lib/http/api/schemas.ts";

type Seen = {
  store: string;
  kind: string;
  method?: string;
  path?: string;
  status?: number;
  code?: string | number; // an error code, or a close code
  name?: string;
};

const dir = process.env.ECHAT_API_COVERAGE_DIR || join(tmpdir(), "echat-api-coverage");
const seen: Seen[] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".jsonl"))) {
  for (const line of readFileSync(join(dir, file), "utf8").split("\n")) if (line) seen.push(JSON.parse(line));
}
const stores = [...new Set(seen.map((s) => s.store))].sort();
const where = (match: (s: Seen) => boolean) => stores.filter((st) => seen.some((s) => s.store === st && match(s)));

const missing: string[] = [];
const unusedCodes: string[] = [];
function row(label: string, match: (s: Seen) => boolean, required = true) {
  const by = where(match);
  if (by.length === 0 && required) missing.push(label);
  console.log(`${by.length ? "ok  " : required ? "MISS" : "--  "} ${label.padEnd(64)} ${by.join(" ")}`);
}

console.log(`API coverage from ${dir} (runs: ${stores.join(", ") || "none"})\n`);
for (const op of OPERATIONS) {
  const http = (s: Seen) => s.kind === "http" && s.method === op.method && s.path === op.path;
  row(`${op.method} ${op.path} ${op.ok.status}`, (s) => http(s) && s.status === op.ok.status);
  for (const more of op.more ?? [])
    row(`${op.method} ${op.path} ${more.status}`, (s) => http(s) && s.status === more.status);
  for (const [status, codes] of errorsByStatus(op)) {
    row(`${op.method} ${op.path} ${status}`, (s) => http(s) && s.status === status);
    for (const code of codes)
      if (!where((s) => http(s) && s.code === code).length) unusedCodes.push(`${op.method} ${op.path} ${code}`);
  }
}
console.log("");
row("any unknown path 404 not_found", (s) => s.kind === "http" && s.status === 404 && s.code === "not_found");
row("any known path, other method 405", (s) => s.kind === "http" && s.status === 405);
for (const code of UNEXPECTED as ErrorCode[])
  row(`any operation: ${code}`, (s) => s.kind === "http" && s.code === code);
console.log("");
for (const name of Object.keys(SERVER_FRAMES)) row(`frame ${name}`, (s) => s.kind === "frame" && s.name === name);
for (const code of FRAME_ERRORS) row(`error frame ${code}`, (s) => s.kind === "frame" && s.code === code, false);
for (const c of Object.values(CLOSE))
  row(`close ${c.code} ${c.reason}`, (s) => s.kind === "close" && s.code === c.code, false);

missing.push(...unusedCodes.map((c) => `error code ${c}`));
if (missing.length) {
  console.error(`\napi-coverage: ${missing.length} documented answers never observed:\n  ${missing.join("\n  ")}`);
  process.exit(1);
}
console.log("\napi-coverage: every documented status, error code and server frame was observed");
