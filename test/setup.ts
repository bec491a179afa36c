// Preloaded by bun test (bunfig.toml): teardown for the whole run, after the last test file.
import { afterAll } from "bun:test";
import { dropLeftoverDatabases } from "./support/postgres.ts";

afterAll(dropLeftoverDatabases);
