// The command line, run as a child process from source: each subcommand, bad input, exit codes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { COMMANDS } from "../lib/cli/commands.ts";
import { settingsOf } from "../lib/cli/command.ts";
import { settingsMarkdown } from "../lib/cli/help.ts";
import { type SettingKey, SETTINGS } from "../lib/config.ts";
import { END, START } from "../scripts/settings-table.ts";
import { CHEAP, expectUsageError as expectUsage, run, SOURCE } from "./support/child.ts";
import { call, createRoom, expectError, register } from "./support/http.ts";
import { opensSqliteFile } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { sendAll, Socket } from "./support/socket.ts";
import { Changes, waitFor } from "./support/waiting.ts";

const echat = (args: string[], opts?: Parameters<typeof run>[2]) => run(SOURCE, args, opts);
const dir = mkdtempSync(join(tmpdir(), "echat-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A usage error is one line on stderr naming the culprit, nothing on stdout, exit code 2.
async function expectUsageError(args: string[], names: string, env?: Record<string, string>) {
  expectUsage(await echat(args, { env }), names);
}

describe("help and version", () => {
  test.each([["--help"], ["-h"], ["help"]])("echat %s lists every command and exits 0", async (flag) => {
    const r = await echat([flag]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    for (const name of Object.keys(COMMANDS)) expect(r.stdout).toContain(`echat ${name}`);
  });

  const groups = [...new Set(Object.keys(COMMANDS).flatMap((n) => (n.includes(" ") ? [n.split(" ")[0]!] : [])))];
  test.each(
    groups.flatMap((g) => [
      [g, "--help"],
      [g, "-h"],
    ]),
  )("echat %s %s lists that group's commands and exits 0", async (group, flag) => {
    const r = await echat([group, flag]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toStartWith(`Usage: echat ${group} <command>`);
    for (const name of Object.keys(COMMANDS))
      if (name.startsWith(`${group} `)) expect(r.stdout).toContain(`echat ${name}`);
      else expect(r.stdout).not.toContain(`echat ${name} `);
  });

  // Each command's help names exactly the settings it reads: user add neither lists nor takes --port.
  test.each(Object.keys(COMMANDS))("echat %s --help prints its usage and only the settings it reads", async (name) => {
    const cmd = COMMANDS[name]!;
    const r = await echat([...name.split(" "), "--help"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toStartWith(`Usage: echat ${name}`);
    const reads = new Set(settingsOf(cmd));
    const listed = (Object.keys(SETTINGS) as SettingKey[]).filter((k) =>
      r.stdout.includes(`--${SETTINGS[k].flag} <value>`),
    );
    expect(listed).toEqual((Object.keys(SETTINGS) as SettingKey[]).filter((k) => reads.has(k)));
    for (const flag of Object.keys(cmd.options ?? {})) expect(r.stdout).toContain(`--${flag}`);
  });

  test("the server reads every setting, a user command only the store's and its own, version none", () => {
    expect(settingsOf(COMMANDS.serve!)).toEqual(Object.keys(SETTINGS) as SettingKey[]);
    expect(settingsOf(COMMANDS["user add"]!)).toEqual([
      "config",
      "db",
      "databaseUrl",
      "synchronous",
      "passwordMemoryKiB",
      "passwordTime",
    ]);
    expect(settingsOf(COMMANDS.version!)).toEqual([]);
  });

  test("-h after a subcommand, and --help beside a flag the command does not take, still print its help", async () => {
    for (const args of [
      ["user", "add", "-h"],
      ["user", "list", "--port", "1", "--help"],
    ]) {
      const r = await echat(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: echat ${args[0]} ${args[1]}`);
    }
  });

  test("version prints the package version", async () => {
    const r = await echat(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`echat ${pkg.version} `);
  });
});

test("README's settings table is the one lib/config.ts defines (bun run docs:settings rewrites it)", async () => {
  const readme = await Bun.file(join(import.meta.dir, "..", "README.md")).text();
  expect(readme).toContain(`${START}\n${settingsMarkdown()}\n${END}`);
});

describe("usage errors exit 2 with one line naming the problem", () => {
  test.each([
    [["frob"], '"frob"'],
    [["user", "frob"], '"user frob"'],
    [["user"], "user add"],
    [["invite"], "invite create"],
    [["user", "list", "--port", "1"], "--port"],
    [["version", "--db", "x.db"], "--db"],
    [["--nope"], "--nope"],
    [["serve", "--nope=1"], "--nope"],
    [["user", "list", "-x"], "-x"],
    [["backup"], "<file>"],
    [["backup", "a.db", "b.db"], '"b.db"'],
    [["version", "extra"], '"extra"'],
    [["--port"], "--port"],
  ])("echat %j", async (args, names) => {
    await expectUsageError(args, names);
  });

  test("a password on the command line is refused, never used", async () => {
    await expectUsageError(["user", "add", "mallory", "password123", "--db", join(dir, "argv.db")], '"password123"');
    expect(existsSync(join(dir, "argv.db"))).toBe(false);
  });
});

describe("an invalid setting fails at start, naming the flag or variable and the value", () => {
  test.each([
    [["--port", "http"], {}, '--port: "http"'],
    [["--port", "70000"], {}, '--port: "70000"'],
    [["--log-format", "xml"], {}, '--log-format: "xml"'],
    [[], { PORT: "-1" }, 'PORT: "-1"'],
    [[], { ECHAT_MAX_MESSAGE_LENGTH: "0" }, 'ECHAT_MAX_MESSAGE_LENGTH: "0"'],
    [[], { ECHAT_TRUST_PROXY: "maybe" }, 'ECHAT_TRUST_PROXY: "maybe"'],
    [[], { ECHAT_LOG_LEVEL: "loud" }, 'ECHAT_LOG_LEVEL: "loud"'],
    [["user", "list"], { ECHAT_SESSION_IDLE_DAYS: "soon" }, 'ECHAT_SESSION_IDLE_DAYS: "soon"'],
  ] as const)("echat %j with %j", async (args, env, names) => {
    await expectUsageError([...args], names, env);
  });

  test("a flag wins over its variable", async () => {
    await expectUsageError(["--port", "x"], '--port: "x"', { PORT: "y" });
  });
});

describe("users", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());
  const db = () => (s.databaseUrl ? ["--database-url", s.databaseUrl] : ["--db", s.db]);

  test("user add reads the password from stdin; the user can log in", async () => {
    const r = await echat(["user", "add", "Админ", ...db()], { stdin: "correct horse\n" });
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created user Админ \(id \d+\)\n$/) });
    const login = await call(s.url, "POST", "/v1/login", { body: { login: "админ", password: "correct horse" } });
    expect(login.status).toBe(200);
  });

  // On a terminal: a prompt, no echo, and a second prompt to confirm.
  async function onTerminal(args: string[], answers: string[]) {
    let screen = "";
    const changed = new Changes();
    const proc = Bun.spawn([...SOURCE, ...args, ...db()], {
      env: { ...process.env, ...CHEAP },
      terminal: {
        data(_, data) {
          screen += new TextDecoder().decode(data);
          changed.notify();
        },
      },
    });
    const prompt = (text: string, from: number) => {
      const found = () => (screen.includes(text, from) ? screen.indexOf(text, from) + text.length : undefined);
      return waitFor(found, 10_000, changed, () => `no "${text}" on the terminal; screen:\n${screen}`);
    };
    let at = 0;
    for (const [i, answer] of answers.entries()) {
      at = await prompt(i === 0 ? "Password: " : "Repeat password: ", at);
      proc.terminal!.write(answer + "\r");
    }
    const code = await proc.exited;
    proc.terminal!.close();
    return { code, screen };
  }

  test("on a terminal, user add prompts twice without echoing the password", async () => {
    const { code, screen } = await onTerminal(["user", "add", "tty-user"], ["typed secret", "typed secret"]);
    expect(code).toBe(0);
    expect(screen).toContain("created user tty-user");
    expect(screen).not.toContain("typed secret");
    expect(
      (await call(s.url, "POST", "/v1/login", { body: { login: "tty-user", password: "typed secret" } })).status,
    ).toBe(200);
  });

  test("on a terminal, two different passwords are refused", async () => {
    const { code, screen } = await onTerminal(["user", "add", "tty-other"], ["typed secret", "other secret"]);
    expect(code).toBe(1);
    expect(screen).toContain("the passwords do not match");
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "tty-other", password: "typed secret" } }),
      422,
      "user_not_found",
    );
  });

  test.each([
    [["user", "add", "admin2"], "short\n", "Password must be 8-1024 characters"],
    [["user", "add", " spaced "], "long enough\n", "Login must be"],
    [["user", "add", "админ"], "long enough\n", 'user "админ" already exists'],
    [["user", "passwd", "nobody"], "long enough\n", 'no user "nobody"'],
    [["user", "passwd", "nobody"], "short\n", 'no user "nobody"'],
  ])("echat %j fails with exit 1 and says why", async (args, stdin, says) => {
    const r = await echat([...args, ...db()], { stdin });
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toContain(says);
  });

  test("user list prints id, login and creation time for every user, by id", async () => {
    const bob = await register(s.url, "bob-list");
    const r = await echat(["user", "list", ...db()]);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    expect(header).toBe("id\tlogin\tcreated_at");
    const parsed = rows.map((row) => row.split("\t"));
    expect(parsed.map((p) => p[1])).toContain("bob-list");
    expect(parsed.find((p) => p[1] === "bob-list")![0]).toBe(String(bob.id));
    const ids = parsed.map((p) => Number(p[0]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const p of parsed) expect(p[2]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/); // seconds, as the API
  });

  test("user passwd changes the password and ends every session of that user only", async () => {
    const carol = await register(s.url, "carol", "old password");
    const other = await register(s.url, "dave");
    const second = await call(s.url, "POST", "/v1/login", { body: { login: "carol", password: "old password" } });
    const r = await echat(["user", "passwd", "CAROL", ...db()], { stdin: "new password\n" });
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining("password changed for CAROL") });
    // Another process changed the database: the server's session cache sees it within 10 s.
    s.clock.advance(10_001);
    expectError(await call(s.url, "GET", "/v1/info", { session: carol.session }), 401, "unauthorized");
    expectError(await call(s.url, "GET", "/v1/info", { session: second.body.session_id }), 401, "unauthorized");
    expect((await call(s.url, "GET", "/v1/info", { session: other.session })).status).toBe(200);
    expectError(
      await call(s.url, "POST", "/v1/login", { body: { login: "carol", password: "old password" } }),
      422,
      "wrong_credentials",
    );
    expect(
      (await call(s.url, "POST", "/v1/login", { body: { login: "carol", password: "new password" } })).status,
    ).toBe(200);
  });

  test.each([[["user", "list"]], [["user", "passwd", "x"]], [["backup", "out.db"]]])(
    "echat %j on a missing database fails and creates nothing",
    async (args) => {
      const missing = join(dir, "missing.db");
      const r = await echat([...args, "--db", missing], { stdin: "long enough\n" });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no database at ${missing}`);
      expect(existsSync(missing)).toBe(false);
    },
  );
});

test("a database that cannot be opened is a one-line failure, exit 1", async () => {
  const r = await echat(["user", "add", "x", "--db", join(dir, "no", "such", "folder.db")], { stdin: "long enough\n" });
  expect(r).toMatchObject({ code: 1, stdout: "" });
  expect(r.stderr).toBe(`echat: cannot open ${join(dir, "no", "such", "folder.db")}: unable to open database file\n`);
});

describe("backup", () => {
  test.skipIf(!opensSqliteFile("echat backup"))(
    "copies a live database while the server is writing; the copy serves the same history",
    async () => {
      const s = await startServer();
      const [alice, bob] = await Promise.all([register(s.url, "alice"), register(s.url, "bob")]);
      const room = await createRoom(s.url, alice, [bob]);
      const sock = await Socket.open(`${s.wsUrl}/v1/rooms/${room}/chat?session_id=${alice.session}`);
      const before = await sendAll(
        sock,
        Array.from({ length: 20 }, (_, i) => `before ${i}`),
      );
      const file = join(dir, "backup.db");
      const writing = sendAll(
        sock,
        Array.from({ length: 50 }, (_, i) => `during ${i}`),
      ); // still sending while copying
      const r = await echat(["backup", file, "--db", s.db]);
      await writing;
      expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining(`to ${file}`) });
      await sock.close();
      await s.stop();

      const restored = mkdtempSync(join(tmpdir(), "echat-restored-"));
      copyFileSync(file, join(restored, "echat.db"));
      const copy = await startServer({ dir: restored });
      try {
        const history = await call(copy.url, "GET", `/v1/rooms/${room}/messages?limit=100`, { session: bob.session });
        expect(history.status).toBe(200);
        // Everything acknowledged before the backup began is there, in order, with no gap.
        expect(history.body.slice(0, before.length)).toEqual(before);
        const ids = history.body.map((m: any) => m.id);
        expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => before[0].id + i));
      } finally {
        await copy.stop();
        rmSync(restored, { recursive: true, force: true });
      }
    },
  );

  test.skipIf(!opensSqliteFile("echat backup"))("refuses to overwrite an existing file", async () => {
    const s = await startServer();
    try {
      const r = await echat(["backup", s.db, "--db", s.db]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("already exists");
    } finally {
      await s.stop();
    }
  });
});

describe("serve", () => {
  test("a port already in use fails with exit 1 and says so", async () => {
    const s = await startServer();
    try {
      const r = await echat(["--port", String(s.port), "--host", "127.0.0.1", "--db", join(dir, "busy.db")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot start on 127.0.0.1:${s.port}`);
    } finally {
      await s.stop();
    }
  });
});
