// Files in operation (issue 17): the orphan sweep (on both storages), the start-up warning for several
// instances with files on local disks, and that a 25 MiB upload streams (the server's RSS).
import { afterEach, describe, expect, test } from "bun:test";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../lib/config.ts";
import { CHEAP, run, SOURCE, startChild } from "./support/child.ts";
import { checkedFetch } from "./support/contract.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { LogSink } from "./support/log.ts";
import { dropDatabase, freshDatabase, opensSqliteFile, STORE, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";
import { storages, startS3, type TestStorage } from "./support/s3.ts";
import { openStorage } from "../lib/files/open.ts";
import { storageKey } from "../lib/files/storage.ts";

const HOUR = 60 * 60 * 1000;
const MIB = 2 ** 20;
const STORAGES = await storages();
const S3 = STORAGES.find((c) => c.name.startsWith("S3"))!;
type Stored = Awaited<ReturnType<TestStorage["start"]>>;
// The storage a server of the test writes to, read directly: does it still hold this file's bytes?
const holds = (s: TestServer, stored: Stored, id: string) =>
  openStorage({ db: s.db, filesDir: "", filesS3: stored.config.filesS3 ?? "" }, stored.env).exists(storageKey(id));

let s: TestServer | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

async function upload(base: string, who: Account, room: number, name: string, body: BodyInit) {
  const r = await checkedFetch(`${base}/v1/rooms/${room}/files?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { "x-session-id": who.session, "content-type": "application/octet-stream" },
    body,
  });
  expect(r.status).toBe(200);
  return (await r.json()) as { id: string; url: string; size: number };
}

// A download with the session header (no signature: the clock is moved by hours here).
async function download(base: string, who: Account, file: { url: string }) {
  const url = new URL(file.url, base);
  url.search = "";
  return checkedFetch(url.href, { headers: { "x-session-id": who.session } });
}

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);

for (const storage of STORAGES) {
  test.if(storage.enabled)(
    `the orphan sweep (${storage.name}): an upload never attached goes 24 hours after it came, row and bytes; a younger one and an attached one stay`,
    async () => {
      const log = new LogSink();
      const stored = await storage.start();
      try {
        s = await startServer({ config: { logLevel: "debug", ...stored.config }, env: stored.env, log: log.write });
        s.clock.freeze();
        const [alice, bob] = [await register(s.url, "alice"), await register(s.url, "bob")];
        const room = await createRoom(s.url, alice, [bob]);
        const orphan = await upload(s.url, alice, room, "orphan.bin", "never attached");
        const kept = await upload(s.url, alice, room, "kept.bin", "attached");
        const sock = await Socket.open(chatUrl(s, room, alice));
        sock.send({ text: "", files: [kept.id], client_id: "k" });
        await sock.next((f) => f.client_id === "k" && Array.isArray(f.files));
        await sock.close();
        s.clock.advance(2 * HOUR);
        const newer = await upload(s.url, alice, room, "newer.bin", "two hours younger");

        // 23 hours after the first upload: a sweep runs and removes nothing.
        s.clock.advance(21 * HOUR);
        let from = log.lines.length;
        await log.next((l) => l.includes("unattached files swept") && l.includes("count=0"), from);
        expect((await download(s.url, bob, orphan)).status).toBe(200);

        // 24 hours and a bit after it: gone, from the API and from the storage; the others stay.
        s.clock.advance(HOUR + 1);
        from = log.lines.length;
        await log.next((l) => l.includes("unattached files swept") && l.includes("count=1"), from);
        expect((await download(s.url, bob, orphan)).status).toBe(404);
        expect(await holds(s, stored, orphan.id)).toBe(false);
        for (const f of [kept, newer]) {
          expect((await download(s.url, bob, f)).status).toBe(200);
          expect(await holds(s, stored, f.id)).toBe(true);
        }
        const again = await Socket.open(chatUrl(s, room, alice));
        again.send({ text: "late", files: [orphan.id], client_id: "late" });
        expect(await again.next((f) => f.error !== undefined)).toMatchObject({
          error: { code: "invalid_files" },
          client_id: "late",
        });
        await again.close();
      } finally {
        await s?.stop();
        s = undefined;
        await stored.stop();
      }
    },
  );
}

for (const storage of STORAGES) {
  test.if(storage.enabled)(
    `a file whose bytes are gone (${storage.name}) is 404 file_not_found, by session, by signed URL and in part; the log names it`,
    async () => {
      const log = new LogSink();
      const stored = await storage.start();
      try {
        s = await startServer({ config: { logLevel: "warn", ...stored.config }, env: stored.env, log: log.write });
        const alice = await register(s.url, "alice");
        const room = await createRoom(s.url, alice, []);
        const gone = await upload(s.url, alice, room, "gone.txt", "these bytes go");
        const kept = await upload(s.url, alice, room, "kept.txt", "these stay");
        const files = openStorage({ db: s.db, filesDir: "", filesS3: stored.config.filesS3 ?? "" }, stored.env);
        await files.delete(storageKey(gone.id));
        const asked = [
          await download(s.url, alice, gone),
          await checkedFetch(new URL(gone.url, s.url).href), // signed
          await checkedFetch(new URL(gone.url, s.url).href, { headers: { range: "bytes=0-3" } }),
        ];
        for (const r of asked) {
          expect(r.status).toBe(404);
          expect((await r.json()).error.code).toBe("file_not_found");
        }
        const warned = log.lines.filter((l) => l.includes("a file's bytes are missing from the storage"));
        expect(warned).toHaveLength(3);
        expect(warned[0]).toContain(storageKey(gone.id));
        const whole = await download(s.url, alice, kept);
        expect({ status: whole.status, text: await whole.text() }).toEqual({ status: 200, text: "these stay" });
        const part = await checkedFetch(new URL(kept.url, s.url).href, { headers: { range: "bytes=6-" } });
        expect({ status: part.status, text: await part.text() }).toEqual({ status: 206, text: "stay" });
      } finally {
        await s?.stop();
        s = undefined;
        await stored.stop();
      }
    },
  );
}

describe("the start-up warning for files on local disks", () => {
  const warning = (lines: string[]) => lines.filter((l) => l.includes("files are local to this instance"));
  const start = async (config: Partial<Config>, env?: Record<string, string>) => {
    const log = new LogSink();
    s = await startServer({ config: { logLevel: "info", ...config }, env, log: log.write });
    return log.lines;
  };

  test.skipIf(STORE !== "postgres")(
    "with DATABASE_URL, an instance on another folder than the database's warns once; one sharing the folder does not",
    async () => {
      const logs = [new LogSink(), new LogSink(), new LogSink()];
      const first = await startServer({ config: { logLevel: "info" }, log: logs[0]!.write });
      const folder = join(first.dir, "echat-files");
      const same = { logLevel: "info", databaseUrl: first.databaseUrl } as const;
      const running = [first];
      try {
        expect(warning(logs[0]!.lines)).toEqual([]);
        expect(readFileSync(join(folder, ".echat-folder"), "utf8")).toMatch(/^[0-9a-f-]{36}\n$/);
        running.push(await startServer({ config: { ...same, filesDir: folder }, log: logs[1]!.write }));
        running.push(await startServer({ config: same, log: logs[2]!.write })); // a folder of its own
        expect(warning(logs[1]!.lines)).toEqual([]);
        expect(warning(logs[2]!.lines)).toEqual([expect.stringContaining("WARN")]);
        expect(warning(logs[2]!.lines)[0]).toContain("--files-s3");
        // The warnings tell the truth: an upload is found through the instance sharing the folder only.
        const [sharing, apart] = [running[1]!, running[2]!];
        const alice = await register(first.url, "alice");
        const room = await createRoom(first.url, alice, []);
        const shared = await upload(sharing.url, alice, room, "shared.txt", "on the shared folder");
        const own = await upload(apart.url, alice, room, "own.txt", "on a folder of its own");
        expect((await download(first.url, alice, shared)).status).toBe(200);
        expect((await download(first.url, alice, own)).status).toBe(404);
        // A restart on its own folder keeps its mark, and the first folder stays the database's.
        running[0] = await first.restart();
        running[2] = await apart.restart();
        expect(warning(logs[0]!.lines)).toEqual([]);
        expect(warning(logs[2]!.lines)).toHaveLength(2);
      } finally {
        for (const r of running.reverse()) await r.stop(); // the first drops the database: last
      }
    },
  );

  test.skipIf(STORE !== "postgres" || !S3.enabled)("with --files-s3 it does not", async () => {
    const stored = await S3.start();
    try {
      expect(warning(await start(stored.config, stored.env))).toEqual([]);
    } finally {
      await s?.stop();
      s = undefined;
      await stored.stop();
    }
  });

  test.skipIf(STORE !== "sqlite")("one instance on SQLite does not", async () => {
    expect(warning(await start({}))).toEqual([]);
  });
});

// The server's resident memory while a 25 MiB body arrives: its peak (VmHWM, reset before) less its RSS
// before stays under twice the file's size. A child process, so the test's own memory is not counted.
async function memory(pid: number) {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

for (const storage of STORAGES) {
  test.if(storage.enabled)(
    `a 25 MiB upload (${storage.name}) raises the server's RSS by less than twice its size`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "echat-rss-"));
      const stored = await storage.start();
      const args = ["--db", join(dir, "echat.db")];
      if (STORE === "postgres") args.push("--database-url", await freshDatabase(dir));
      if (stored.config.filesS3) args.push("--files-s3", stored.config.filesS3);
      const child = await startChild(SOURCE, args, { env: { ...CHEAP, ...stored.env } });
      try {
        const alice = await register(child.url, "alice");
        const room = await createRoom(child.url, alice, []);
        await upload(child.url, alice, room, "warm.bin", new Uint8Array(MIB)); // first-upload allocations
        // Resets VmHWM to the current RSS; where that is refused, the peak is the RSS after.
        const reset = await Bun.write(`/proc/${child.proc.pid}/clear_refs`, "5").then(
          () => true,
          () => false,
        );
        const before = await memory(child.proc.pid);
        const size = 25 * MIB;
        const f = await upload(child.url, alice, room, "big.bin", new Uint8Array(size).fill(7));
        expect(f.size).toBe(size);
        const measured = await memory(child.proc.pid);
        const after = reset ? measured : { ...measured, peak: measured.rss };
        console.log(
          `25 MiB upload (${storage.name}, ${STORE}): RSS ${(before.rss / MIB).toFixed(1)} -> ${(after.rss / MIB).toFixed(1)} MiB, peak +${((after.peak - before.rss) / MIB).toFixed(1)} MiB`,
        );
        expect(after.peak - before.rss).toBeLessThan(2 * size);
      } finally {
        child.proc.kill();
        await child.proc.exited;
        await stored.stop();
        if (STORE === "postgres") await dropDatabase(await freshDatabase(dir));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

describe("echat backup with files", () => {
  test.skipIf(!opensSqliteFile("echat backup"))(
    "copies the files the database copy lists into <file>-files/; the restored pair serves them",
    async () => {
      const work = mkdtempSync(join(tmpdir(), "echat-backup-files-"));
      try {
        s = await startServer();
        const [alice, bob] = [await register(s.url, "alice"), await register(s.url, "bob")];
        const room = await createRoom(s.url, alice, [bob]);
        const bytes = crypto.getRandomValues(new Uint8Array(100_000));
        const a = await upload(s.url, alice, room, "a.bin", bytes);
        const b = await upload(s.url, bob, room, "b.txt", "second");
        const file = join(work, "backup.db");
        const r = await run(SOURCE, ["backup", file, "--db", s.db]);
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(r.stdout).toContain(`copied 2 files (${bytes.length + 6} bytes) from ${join(s.dir, "echat-files")}`);
        expect(files(`${file}-files`).sort()).toEqual([a.id, b.id].sort());
        for (const f of [a, b]) {
          const path = join(`${file}-files`, f.id.slice(0, 2), f.id.slice(2, 4), f.id);
          expect(statSync(path).mode & 0o777).toBe(0o600);
          expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
        }
        // Both names must be new.
        const again = await run(SOURCE, ["backup", file, "--db", s.db]);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain("already exists");
        await s.stop();
        s = undefined;

        // The default layout: echat.db and echat-files beside it.
        const restored = join(work, "restored");
        mkdirSync(restored);
        copyFileSync(file, join(restored, "echat.db"));
        cpSync(`${file}-files`, join(restored, "echat-files"), { recursive: true });
        s = await startServer({ dir: restored });
        const got = await download(s.url, bob, a);
        expect(got.status).toBe(200);
        expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
        expect(await (await download(s.url, alice, b)).text()).toBe("second");
      } finally {
        await s?.stop();
        s = undefined;
        rmSync(work, { recursive: true, force: true });
      }
    },
  );

  test.skipIf(!opensSqliteFile("echat backup"))("with no files it makes no folder and says so", async () => {
    const work = mkdtempSync(join(tmpdir(), "echat-backup-files-"));
    try {
      s = await startServer();
      await register(s.url, "alice");
      const file = join(work, "backup.db");
      const r = await run(SOURCE, ["backup", file, "--db", s.db]);
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toContain("no uploaded files to copy");
      expect(existsSync(`${file}-files`)).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

test.if(S3.enabled && STORE === "sqlite")(
  "echat backup with --files-s3 says the files stay in the bucket",
  async () => {
    const work = mkdtempSync(join(tmpdir(), "echat-backup-files-"));
    const stored = await S3.start();
    try {
      s = await startServer({ config: stored.config, env: stored.env });
      const alice = await register(s.url, "alice");
      await upload(s.url, alice, await createRoom(s.url, alice, []), "a.txt", "in the bucket");
      const file = join(work, "backup.db");
      const r = await run(SOURCE, ["backup", file, "--db", s.db, "--files-s3", stored.config.filesS3!], {
        env: stored.env,
      });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toContain(`\n1 file in the bucket ${stored.config.filesS3}: back them up there`);
      expect(existsSync(`${file}-files`)).toBe(false);
    } finally {
      await s?.stop();
      s = undefined;
      await stored.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
);

describe("echat migrate --files-to", () => {
  test("refuses a target that is not s3://bucket/prefix (usage error, exit 2)", async () => {
    const r = await run(SOURCE, ["migrate", "--files-to", "/tmp/elsewhere", "--db", "x.db"]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toBe("echat: --files-to must be s3://bucket/prefix\n");
  });

  test.if(S3.enabled && TEST_DATABASE_URL !== "")(
    "copies the database, then the files to S3; again alone is harmless; a PostgreSQL server on the bucket serves them",
    async () => {
      const work = mkdtempSync(join(tmpdir(), "echat-migrate-files-"));
      const stored = await S3.start();
      const filesS3 = stored.config.filesS3!;
      let databaseUrl = "";
      try {
        const lite = await startServer({ config: { databaseUrl: "" }, dir: work });
        const [alice, bob] = [await register(lite.url, "alice"), await register(lite.url, "bob")];
        const room = await createRoom(lite.url, alice, [bob]);
        const bytes = crypto.getRandomValues(new Uint8Array(70_000));
        const a = await upload(lite.url, alice, room, "a.bin", bytes);
        const b = await upload(lite.url, bob, room, "b.txt", "bee");
        await lite.stop();
        databaseUrl = await freshDatabase(join(work, "pg"));
        const migrate = (args: string[]) => run(SOURCE, ["migrate", "--db", lite.db, ...args], { env: stored.env });
        const r = await migrate(["--to", databaseUrl, "--files-to", filesS3]);
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(r.stdout).toContain("counts match");
        expect(r.stdout).toContain(
          `copied 2 files (${bytes.length + 3} bytes) from ${join(work, "echat-files")} to ${filesS3}`,
        );
        expect(await migrate(["--files-to", filesS3])).toMatchObject({
          code: 0,
          stdout: expect.stringContaining("copied 2 files"),
        });

        s = await startServer({ config: { databaseUrl, ...stored.config }, env: stored.env });
        expect(new Uint8Array(await (await download(s.url, bob, a)).arrayBuffer())).toEqual(bytes);
        expect(await (await download(s.url, alice, b)).text()).toBe("bee");
      } finally {
        await s?.stop();
        s = undefined;
        await stored.stop();
        if (databaseUrl) await dropDatabase(databaseUrl);
        rmSync(work, { recursive: true, force: true });
      }
    },
  );

  test.if(S3.enabled)("with no files it says so and copies nothing", async () => {
    const work = mkdtempSync(join(tmpdir(), "echat-migrate-files-"));
    const stored = await S3.start();
    try {
      const lite = await startServer({ config: { databaseUrl: "" }, dir: work });
      await register(lite.url, "alice");
      await lite.stop();
      const r = await run(SOURCE, ["migrate", "--db", lite.db, "--files-to", stored.config.filesS3!], {
        env: stored.env,
      });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe(`no uploaded files in ${lite.db}: nothing to copy to ${stored.config.filesS3}\n`);
    } finally {
      await stored.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
