// Files in operation (issue 17): the orphan sweep (on both storages), the start-up warning for several
// instances with files on local disks, and that a 25 MiB upload streams (the server's RSS).
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../lib/config.ts";
import { CHEAP, SOURCE, startChild } from "./support/child.ts";
import { checkedFetch } from "./support/contract.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { LogSink } from "./support/log.ts";
import { freshDatabase, STORE } from "./support/postgres.ts";
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
    const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "echat-rss-"));
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
      (await import("node:fs")).rmSync(dir, { recursive: true, force: true });
    }
  });
});
