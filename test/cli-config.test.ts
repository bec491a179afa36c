// The --config file (TOML, keyed by the flag names) and `echat config`: precedence flags > environment >
// file > defaults, one clear line and exit 2 for a bad file, secrets masked, and a server that runs on it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SETTINGS } from "../lib/config.ts";
import { expectUsageError, run, SOURCE, startChild } from "./support/child.ts";
import { call, expectError } from "./support/http.ts";

const dir = mkdtempSync(join(tmpdir(), "echat-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const echat = (args: string[], env: Record<string, string> = {}) => run(SOURCE, args, { env, cwd: dir });
let files = 0;
function configFile(text: string): string {
  const path = join(dir, `echat-${++files}.toml`);
  writeFileSync(path, text);
  return path;
}

// `echat config` as a map: flag name -> [value as TOML, source].
async function effective(args: string[], env: Record<string, string> = {}) {
  const r = await echat(["config", ...args], env);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const rows = r.stdout
    .trimEnd()
    .split("\n")
    .filter((l) => !l.startsWith("#"));
  const map = new Map(
    rows
      .map((l) => /^(\S+) = (.*?) +# (.+)$/.exec(l)!.slice(1) as [string, string, string])
      .map(([k, v, s]) => [k, [v, s]] as const),
  );
  return { map, first: r.stdout.split("\n")[0]! };
}

describe("precedence: flags > environment > file > defaults", () => {
  const file = () =>
    configFile(
      [
        "port = 9001",
        'host = "127.0.0.2"',
        'registration = "invite"',
        "limits = false",
        'cors-origins = ["https://a.example", "https://b.example"]',
        'public-url = "https://chat.example.org"',
      ].join("\n"),
    );

  test("each setting comes from the strongest source that sets it, and echat config says which", async () => {
    const path = file();
    const { map, first } = await effective(["--config", path, "--port", "9003"], {
      PORT: "9002",
      HOST: "127.0.0.3",
    });
    expect(first).toBe(`# config file: ${path} (flag --config)`);
    expect(map.get("port")).toEqual(["9003", "flag --port"]);
    expect(map.get("host")).toEqual(['"127.0.0.3"', "env HOST"]);
    expect(map.get("registration")).toEqual(['"invite"', "file"]);
    expect(map.get("limits")).toEqual(["false", "file"]);
    expect(map.get("cors-origins")).toEqual(['["https://a.example", "https://b.example"]', "file"]);
    expect(map.get("log-level")).toEqual(['"info"', "default"]);
    // every setting but the file's own name is shown
    expect([...map.keys()]).toEqual(Object.values(SETTINGS).flatMap((s) => (s.file ? [s.flag] : [])));
  });

  test("ECHAT_CONFIG names the file too; a --config flag wins over it", async () => {
    const path = file();
    expect((await effective([], { ECHAT_CONFIG: path })).first).toBe(`# config file: ${path} (env ECHAT_CONFIG)`);
    const other = configFile("port = 9100\n");
    const { map } = await effective(["--config", other], { ECHAT_CONFIG: path });
    expect(map.get("port")).toEqual(["9100", "file"]);
    expect(map.get("registration")).toEqual(['"open"', "default"]);
  });

  test("without a file: no file line, and every value a default or from the environment", async () => {
    const { map, first } = await effective([], { ECHAT_SEARCH_SCAN: "77" });
    expect(first).toBe("# no config file");
    expect(map.get("search-scan")).toEqual(["77", "env ECHAT_SEARCH_SCAN"]);
    expect(map.get("port")).toEqual(["8080", "default"]);
  });

  test("the output of echat config is itself a config file giving the same settings", async () => {
    const path = file();
    const r = await echat(["config", "--config", path, "--max-message-length", "123"]);
    const copy = configFile(r.stdout);
    const again = await echat(["config", "--config", copy]);
    const values = (out: string) =>
      out
        .split("\n")
        .slice(1)
        .map((l) => l.replace(/ +#.*$/, ""));
    expect(values(again.stdout)).toEqual(values(r.stdout));
  });
});

test("secrets are masked: the passwords in the database and Redis URLs never print", async () => {
  const path = configFile('database-url = "postgres://echat:hunter2@db.example:5432/echat"\n');
  const r = await echat(["config", "--config", path], { REDIS_URL: "redis://default:s3cret@cache.example:6379" });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('database-url = "postgres://echat:***@db.example:5432/echat"');
  expect(r.stdout).toContain('redis-url = "redis://default:***@cache.example:6379"');
  expect(r.stdout).not.toContain("hunter2");
  expect(r.stdout).not.toContain("s3cret");
});

describe("a bad config file stops start-up with one line naming the key and the file, exit 2", () => {
  test.each([
    ["prot = 1", ['unknown setting "prot"']],
    ["publicUrl = 'https://x.example'", ['unknown setting "publicUrl"', "flag names"]],
    ['config = "/etc/other.toml"', ['unknown setting "config"']],
    ['port = "http"', ["invalid value for port", '"http"']],
    ["port = 70000", ["invalid value for port", '"70000"']],
    ["limits = 1.5", ["invalid value for limits", "1.5"]],
    ["max-file-size = true", ["invalid value for max-file-size", '"on"']],
    ["[server]\nport = 1", ['unknown setting "server"']],
    ["log-level = ['debug']", ["invalid value for log-level", "debug"]],
    ["cors-origins = [1, 2]", ["invalid value for cors-origins"]],
    ["port = ", ["cannot read the config file"]],
  ])("%s", async (text, says) => {
    const path = configFile(text + "\n");
    for (const args of [
      ["--config", path],
      ["user", "list", "--config", path],
      ["config", "--config", path],
    ]) {
      expectUsageError(await echat(args), path, ...says);
    }
  });

  test("a missing file", async () => {
    const r = await echat(["--config", join(dir, "absent.toml")]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toBe(`echat: cannot read the config file ${join(dir, "absent.toml")}: no such file\n`);
  });

  test("a bad environment value still names the variable, not the file, though the file sets it well", async () => {
    const path = configFile("port = 9000\n");
    const r = await echat(["--config", path], { PORT: "x" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT: "x"');
    expect(r.stderr).not.toContain(path);
  });
});

test("the server runs on its config file: registration closed and the database named there", async () => {
  const path = configFile('registration = "closed"\ndb = "from-file.db"\n');
  const child = await startChild(SOURCE, [], { env: { ECHAT_CONFIG: path }, cwd: dir });
  try {
    expect(child.lines.some((l) => l.includes("store: SQLite from-file.db"))).toBe(true);
    expect(child.lines.some((l) => l.includes("registration: closed"))).toBe(true);
    const r = await call(child.url, "POST", "/v1/register", { body: { login: "someone", password: "password123" } });
    expectError(r, 403, "registration_closed");
  } finally {
    child.proc.kill("SIGTERM");
  }
  expect(await child.proc.exited).toBe(0);
});
