// Files in operation (issue 17): the orphan sweep (on both storages), the start-up warning for several
// instances with files on local disks, and that a 25 MiB upload streams (the server's RSS).
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../lib/config.ts";
import { CHEAP, run, SOURCE, startChild } from "./support/child.ts";
import { checkedFetch } from "./support/contract.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { LogSink } from "./support/log.ts";
import { freshDatabase, opensSqliteFile, STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

// Where the files go: the disk storage (the folder beside the test's database). keys(): what the storage holds.
type StorageCase = {
  name: string;
  enabled: boolean;
  config: () => Promise<Partial<Config>>;
  env: Record<string, string>;
  keys: (s: TestServer) => Promise<string[]>;
};
const STORAGES: StorageCase[] = [
  {
    name: "disk",
    enabled: true,
    config: async () => ({}),
    env: {},
    keys: async (s) => files(join(s.dir, "echat-files")),
  },
];

const HOUR = 60 * 60 * 1000;
const MIB = 2 ** 20;

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

describe.each(STORAGES)("the orphan sweep ($name)", (storage) => {
  test.skipIf(!storage.enabled)(
    "an upload never attached goes 24 hours after it came, row and bytes; a younger one stays",
    async () => {
      const log = new LogSink();
      s = await startServer({ config: { logLevel: "debug", ...(await storage.config()) }, log: log.write });
      s.clock.freeze();
      const [alice, bob] = [await register(s.url, "alice"), await register(s.url, "bob")];
      const room = await createRoom(s.url, alice, [bob]);
      const orphan = await upload(s.url, alice, room, "orphan.bin", "never attached");
      s.clock.advance(2 * HOUR);
      const newer = await upload(s.url, alice, room, "newer.bin", "two hours younger");

      // 23 hours after the first upload: a sweep runs and removes nothing.
      s.clock.advance(21 * HOUR);
      let from = log.lines.length;
      await log.next((l) => l.includes("unattached files swept") && l.includes("count=0"), from);
      expect((await download(s.url, bob, orphan)).status).toBe(200);

      // 24 hours and a bit after it: gone, from the API and from the storage; the newer one stays.
      s.clock.advance(HOUR + 1);
      from = log.lines.length;
      await log.next((l) => l.includes("unattached files swept") && l.includes("count=1"), from);
      expect((await download(s.url, bob, orphan)).status).toBe(404);
      expect((await download(s.url, bob, newer)).status).toBe(200);
      expect(await storage.keys(s)).toEqual([newer.id]);
    },
  );
});

describe("the start-up warning for files on local disks", () => {
  const warning = (lines: string[]) => lines.filter((l) => l.includes("files are local to this instance"));
  const start = async (config: Partial<Config>) => {
    const log = new LogSink();
    s = await startServer({ config: { logLevel: "info", ...config }, log: log.write });
    return log.lines;
  };

  test.skipIf(STORE !== "postgres")("with DATABASE_URL and no --files-s3, the server warns once", async () => {
    const lines = await start({});
    expect(warning(lines)).toEqual([expect.stringContaining("WARN")]);
  });

  const s3 = STORAGES.find((c) => c.name === "S3");
  test.skipIf(STORE !== "postgres" || !s3?.enabled)("with --files-s3 it does not", async () => {
    expect(warning(await start(await s3!.config()))).toEqual([]);
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

describe.each(STORAGES)("a 25 MiB upload ($name)", (storage) => {
  test.skipIf(!storage.enabled)("raises the server's RSS by less than twice its size", async () => {
    const dir = mkdtempSync(join(tmpdir(), "echat-rss-"));
    const args = ["--db", join(dir, "echat.db")];
    if (STORE === "postgres") args.push("--database-url", await freshDatabase(dir));
    const extra = await storage.config();
    if (extra.filesS3) args.push("--files-s3", extra.filesS3);
    const child = await startChild(SOURCE, args, { env: { ...CHEAP, ...storage.env } });
    try {
      const alice = await register(child.url, "alice");
      const room = await createRoom(child.url, alice, []);
      await upload(child.url, alice, room, "warm.bin", new Uint8Array(MIB)); // first-upload allocations
      Bun.gc(true);
      await Bun.write(`/proc/${child.proc.pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
      const before = await memory(child.proc.pid);
      const size = 25 * MIB;
      const f = await upload(child.url, alice, room, "big.bin", new Uint8Array(size).fill(7));
      expect(f.size).toBe(size);
      const after = await memory(child.proc.pid);
      console.log(
        `25 MiB upload (${storage.name}, ${STORE}): RSS ${(before.rss / MIB).toFixed(1)} -> ${(after.rss / MIB).toFixed(1)} MiB, peak +${((after.peak - before.rss) / MIB).toFixed(1)} MiB`,
      );
      expect(after.peak - before.rss).toBeLessThan(2 * size);
    } finally {
      child.proc.kill();
      await child.proc.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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

describe("echat migrate --files-to", () => {
  test("refuses a target that is not s3://bucket/prefix (usage error, exit 2)", async () => {
    const r = await run(SOURCE, ["migrate", "--files-to", "/tmp/elsewhere", "--db", "x.db"]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toBe("echat: --files-to must be s3://bucket/prefix\n");
  });
});
