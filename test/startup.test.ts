// The start-up lines: one per subsystem (store and schema version, fan-out and whether it is connected,
// registration, files, push), README's sample equal to a real start, and Redis failures logged at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQLITE_MIGRATIONS } from "../lib/store/sqlite/migrations.ts";
import { startLogged } from "./support/admin.ts";
import { SOURCE, startChild } from "./support/child.ts";
import { dropDatabase, freshDatabase, STORE, TEST_DATABASE_URL } from "./support/postgres.ts";
import { needs } from "./support/tools.ts";
import { freePort, startRedis } from "./support/redis.ts";

const dir = mkdtempSync(join(tmpdir(), "echat-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const message = (line: string) => line.replace(/^\S+ \S+ +/, ""); // without the time and level

test("README's sample start-up is what `echat` prints on a fresh folder (time, port and code aside)", async () => {
  const readme = await Bun.file(join(import.meta.dir, "..", "README.md")).text();
  const block = /<!-- startup:start[^\n]*\n```\n([\s\S]*?)```\n<!-- startup:end -->/.exec(readme)![1]!;
  const sample = block.trimEnd().split("\n");
  const code = /#invite=(\S+)/.exec(block)![1]!;
  const child = await startChild(SOURCE, ["--host", "0.0.0.0"], { cwd: dir });
  try {
    const port = new URL(child.url).port;
    const real = child.lines
      .slice(0, child.lines.findIndex((l) => l.includes(" listening on ")) + 1)
      .map((l) => l.replace(`localhost:${port}`, "localhost:8080").replace(`0.0.0.0:${port}`, "0.0.0.0:8080"))
      .map((l) => l.replace(/#invite=\S+/, `#invite=${code}`));
    expect(real.map((l) => l.slice(24))).toEqual(sample.map((l) => l.slice(24)));
  } finally {
    child.proc.kill("SIGTERM");
  }
  expect(await child.proc.exited).toBe(0);
});

describe("one line per subsystem", () => {
  test("store, fan-out, registration, files and push, before the first admin's link", async () => {
    const { s, sink } = await startLogged({ config: { registration: "invite", filesDir: join(dir, "f") } });
    try {
      const lines = sink.lines.filter((l) => l.includes(" INFO ")).map(message); // not the files WARN of PostgreSQL
      const store =
        STORE === "postgres"
          ? expect.stringMatching(/^store: PostgreSQL 127\.0\.0\.1:5432\/\w+, schema version \d+$/)
          : `store: SQLite ${s.db}, schema version ${SQLITE_MIGRATIONS.version}`;
      const fanout =
        STORE === "postgres"
          ? "fan-out: PostgreSQL LISTEN/NOTIFY, connected"
          : "fan-out: in memory (this instance only)";
      expect(lines.slice(0, 5)).toEqual([
        store,
        fanout,
        "registration: invite (an invite code is needed)",
        `files: folder ${join(dir, "f")}`,
        "push: VAPID key ready; browsers offer push only over https (no --public-url; http://localhost works for trying)",
      ]);
      expect(lines[5]).toStartWith("no admin yet: open ");
      if (s.databaseUrl) expect(sink.lines.join("\n")).not.toContain(`:${new URL(s.databaseUrl).password}@`);
    } finally {
      await s.stop();
    }
  });

  test.each([
    ["https://chat.example.org", "push: VAPID key ready"],
    [
      "http://chat.example.org",
      "push: VAPID key ready; browsers offer push only over https (http://chat.example.org is not https; http://localhost works for trying)",
    ],
  ])("with --public-url %s the push line says %j", async (publicUrl, says) => {
    const { s, sink } = await startLogged({
      config: { publicUrl, registration: "closed", filesS3: "s3://bucket/pre" },
    });
    try {
      const lines = sink.lines.map(message);
      expect(lines).toContain(says);
      expect(lines).toContain("registration: closed (accounts from the CLI only)");
      expect(lines).toContain("files: S3 s3://bucket/pre");
    } finally {
      await s.stop();
    }
  });
});

// Redis fans out only beside PostgreSQL. A private redis-server with a password, so that a wrong one is refused.
const withRedis =
  needs("postgresql", TEST_DATABASE_URL !== "") && needs("redis-server", Bun.which("redis-server") !== null);

describe.skipIf(!withRedis)("Redis at start", () => {
  let redis: Subprocess;
  let port: number;
  let databaseUrl: string;
  beforeAll(async () => {
    port = freePort();
    redis = await startRedis(port, ["--requirepass", "right"]);
    databaseUrl = await freshDatabase(mkdtempSync(join(tmpdir(), "echat-startup-pg-")));
  });
  afterAll(async () => {
    redis?.kill();
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  test("reachable: the fan-out line names Redis (not its password) and says connected", async () => {
    const { s, sink } = await startLogged({ config: { databaseUrl, redisUrl: `redis://:right@127.0.0.1:${port}` } });
    try {
      expect(sink.lines.map(message)).toContain(`fan-out: Redis 127.0.0.1:${port}, connected`);
      expect(sink.lines.join("\n")).not.toContain("right@");
    } finally {
      await s.stop();
    }
  });

  test.each([
    ["a wrong password", () => `redis://:wrong@127.0.0.1:${port}`, "WRONGPASS"],
    ["no password", () => `redis://127.0.0.1:${port}`, "NOAUTH"],
    ["a closed port", () => `redis://127.0.0.1:${freePort()}`, "ECONNREFUSED"],
  ])("%s: logged once within a second, with the reason; the server still starts", async (_, url, reason) => {
    const started = performance.now();
    const { s, sink } = await startLogged({ config: { databaseUrl, redisUrl: url() } });
    try {
      const line = await sink.next((l) => l.includes("Redis unreachable at start"));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(line).toContain(reason);
      expect(line).not.toContain("wrong");
      expect(sink.lines.filter((l) => l.includes("Redis")).length).toBe(2); // that error and the fan-out line
      expect(sink.lines.map(message)).toContainEqual(expect.stringMatching(/^fan-out: Redis .*, not connected yet/));
    } finally {
      await s.stop();
    }
  });

  // The watchdog looks every 5 s; the reminder waits for a minute on the server's clock, which the test moves.
  test("while Redis stays away the error is repeated at most once a minute", async () => {
    const { s, sink } = await startLogged({ config: { databaseUrl, redisUrl: `redis://127.0.0.1:${freePort()}` } });
    try {
      await sink.next((l) => l.includes("Redis unreachable at start"));
      s.clock.advance(60_001);
      const reminder = await sink.next((l) => l.includes("Redis still unreachable"), 0, 7000);
      expect(reminder).toContain("ECONNREFUSED");
      // one reminder for the minute that passed, however many watchdog rounds ran meanwhile
      expect(sink.lines.filter((l) => l.includes("Redis still unreachable")).length).toBe(1);
    } finally {
      await s.stop();
    }
  }, 15000);
});
