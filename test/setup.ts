// Preloaded by bun test (bunfig.toml): the API contract after each test; teardown for the whole run, after the
// last test file.
import { afterAll, afterEach } from "bun:test";
import { violations, writeCoverage } from "./support/contract.ts";
import { dropLeftoverDatabases } from "./support/postgres.ts";

// A reply or frame the API documents do not describe fails the test that saw it (test/support/contract.ts).
afterEach(() => {
  const seen = violations.splice(0);
  if (seen.length) throw new Error(`API contract violated:\n${seen.join("\n")}`);
});
afterAll(dropLeftoverDatabases);
afterAll(writeCoverage);
