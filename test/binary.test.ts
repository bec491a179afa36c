// The compiled executable, built once per run with package.json's own build scripts (into a temp
// folder), then run as a child process: the same smoke test a user's first minute would be.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { run, startChild } from "./support/child.ts";
import { CHROMIUM, openView, signIn, until } from "./support/browser.ts";
import { call, createRoom, register } from "./support/http.ts";
import { smoke } from "./support/smoke.ts";
import { needs } from "./support/tools.ts";

const dir = mkdtempSync(join(tmpdir(), "echat-binary-"));
const root = join(import.meta.dir, "..");

// Runs `bun run <script>` with its --outfile pointed into the temp folder (and any extra flags).
async function build(script: "build" | "build:arm64", outfile: string, extra: string[] = []) {
  const args = [...pkg.scripts[script].split(" ").map((a) => (a.startsWith("dist/") ? outfile : a)), ...extra];
  const r = await run(args[0] === "bun" ? [process.execPath] : [args[0]!], args.slice(1), { cwd: root });
  if (r.code !== 0) throw new Error(`${script} failed:\n${r.stdout}${r.stderr}`);
  return outfile;
}

let host: string;
const metafile = join(dir, "meta.json"); // every input the compile bundled, web client included
beforeAll(async () => {
  host = await build("build", join(dir, "echat"), [`--metafile=${metafile}`]);
}, 60000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the compiled binary", () => {
  test("serves the smoke test with nothing beside it but its database", async () => {
    const child = await startChild([host], ["--db", "smoke.db"], { cwd: dir }); // a folder without the sources
    try {
      expect(child.lines.find((l) => l.includes(" store: "))).toContain("store: SQLite smoke.db, schema version");
      await smoke(child.url);
    } finally {
      child.proc.kill("SIGTERM");
    }
    expect(await child.proc.exited).toBe(0);
  });

  // Zero runtime dependencies: the devDependencies (ajv, the spec tools) serve the suite and CI only.
  test("bundles nothing from node_modules", async () => {
    const inputs = Object.keys((await Bun.file(metafile).json()).inputs);
    expect(inputs).toContain("server.ts");
    expect(inputs.filter((path) => path.includes("node_modules"))).toEqual([]);
  });

  test("serves its API documents from inside itself", async () => {
    const child = await startChild([host], ["--db", "docs.db"], { cwd: dir });
    try {
      const openapi = await call(child.url, "GET", "/v1/openapi.json");
      expect(openapi.body).toMatchObject({ openapi: "3.1.0", info: { version: pkg.version } });
      const asyncapi = await call(child.url, "GET", "/v1/asyncapi.json");
      expect(asyncapi.body).toMatchObject({ asyncapi: "3.0.0", info: { version: pkg.version } });
    } finally {
      child.proc.kill("SIGTERM");
    }
    expect(await child.proc.exited).toBe(0);
  });

  // web/sw.ts is embedded as text and transpiled by the binary itself (Bun.Transpiler) as it starts.
  test("serves the web client's service worker, transpiled from inside itself, and Chromium runs it", async () => {
    const child = await startChild([host], ["--db", "sw.db"], { cwd: dir });
    try {
      const sw = await call<string>(child.url, "GET", "/sw.js");
      expect(sw.status).toBe(200);
      expect(sw.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(sw.headers.get("cache-control")).toBe("no-cache");
      expect(sw.body).toContain(`addEventListener("push"`);
      expect(sw.body).not.toMatch(/^\s*(import|export)\b/m);
      expect(() => new Function(sw.body)).not.toThrow();
      if (!needs("chromium", CHROMIUM !== null)) return;
      // And a browser runs it: registered after login, it becomes the page's active worker.
      const [ann, bob] = [await register(child.url, "ann"), await register(child.url, "bob")];
      const view = openView();
      try {
        await signIn(view, child.url, "127.0.0.1", ann.session, await createRoom(child.url, ann, [bob]));
        const state = `navigator.serviceWorker.getRegistration("/").then((r) => r?.active?.state ?? null)`;
        expect(await until(view, state, (s) => s === "activated", 10000)).toBe("activated");
      } finally {
        view.close();
      }
    } finally {
      child.proc.kill("SIGTERM");
    }
    expect(await child.proc.exited).toBe(0);
  }, 30000);

  test("prints its version and its help", async () => {
    const version = await run([host], ["version"]);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringContaining(`echat ${pkg.version}`) });
    const help = await run([host], ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("echat user add <login>");
  });
});

// Raspberry Pi 4/5 (64-bit OS). Running it needs qemu-user and the arm64 loader and libc:
// apt-get install qemu-user; dpkg --add-architecture arm64; apt-get update; apt-get install libc6:arm64
describe("the linux-arm64 binary", () => {
  let arm: string;
  beforeAll(async () => {
    arm = await build("build:arm64", join(dir, "echat-arm64"));
  }, 120000);

  test("is an aarch64 ELF executable", async () => {
    const head = new Uint8Array(await Bun.file(arm).slice(0, 20).arrayBuffer());
    expect([...head.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
    expect(head[4]).toBe(2); // 64-bit
    expect(head[5]).toBe(1); // little-endian
    expect(head[18]! | (head[19]! << 8)).toBe(183); // e_machine EM_AARCH64
  });

  const qemu = Bun.which("qemu-aarch64");
  const emulated = needs(
    "qemu-user with the arm64 loader (see the comment above)",
    qemu !== null && existsSync("/lib/ld-linux-aarch64.so.1"),
  );
  test.skipIf(!emulated)(
    "serves the smoke test under qemu-user on a Raspberry Pi 4 CPU (Cortex-A72)",
    async () => {
      const child = await startChild([qemu!, "-cpu", "cortex-a72", "-L", "/", arm], ["--db", join(dir, "arm.db")]);
      try {
        await smoke(child.url);
      } finally {
        child.proc.kill("SIGTERM");
      }
      expect(await child.proc.exited).toBe(0);
    },
    60000,
  );
});
