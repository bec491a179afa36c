// CI: the two API documents, checked by tools nobody here wrote. The OpenAPI document is linted by
// Redocly's CLI with its recommended rules (no errors allowed); the AsyncAPI document is parsed and
// validated by @asyncapi/parser (no errors allowed). Both are built from lib/http/api, as the server serves them.
import { Parser } from "@asyncapi/parser";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAsyncApi } from "../lib/http/api/asyncapi.ts";
import { buildOpenApi } from "../lib/http/api/openapi.ts";
import pkg from "../package.json" with { type: "json" };

async function lintOpenApi(dir: string): Promise<boolean> {
  const file = join(dir, "openapi.json");
  writeFileSync(file, JSON.stringify(buildOpenApi(pkg.version), null, 2));
  const redocly = join(import.meta.dir, "..", "node_modules", ".bin", "redocly");
  const proc = Bun.spawn([redocly, "lint", "--extends=recommended", "--format=stylish", file], {
    stdout: "inherit",
    stderr: "inherit",
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  return (await proc.exited) === 0;
}

async function parseAsyncApi(): Promise<boolean> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(buildAsyncApi(pkg.version)));
  const severities = ["error", "warning", "info", "hint"];
  for (const d of diagnostics) console.log(`asyncapi ${severities[d.severity]}: ${d.path.join(".")}: ${d.message}`);
  const errors = diagnostics.filter((d) => d.severity === 0).length;
  console.log(`asyncapi: ${errors} errors, ${diagnostics.length - errors} other diagnostics`);
  return errors === 0;
}

const dir = mkdtempSync(join(tmpdir(), "echat-specs-"));
try {
  const openapi = await lintOpenApi(dir);
  const asyncapi = await parseAsyncApi();
  if (!openapi || !asyncapi) {
    console.error(
      `check-specs: ${openapi ? "" : "redocly lint failed; "}${asyncapi ? "" : "the AsyncAPI parser reported errors"}`,
    );
    process.exit(1);
  }
  console.log("check-specs: both documents pass");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
