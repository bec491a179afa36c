// The CLI's admin, disable, enable, delete and invite commands, run as child processes beside a server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { registerRaw, registerWith, setupCode, startLogged } from "./support/admin.ts";
import { CHEAP, run, SOURCE } from "./support/child.ts";
import { call, createRoom, expectError, register } from "./support/http.ts";
import type { LogSink } from "./support/log.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

const echat = (args: string[], stdin?: string) => run(SOURCE, args, { stdin, env: CHEAP });

let s: TestServer, sink: LogSink;
beforeAll(async () => ({ s, sink } = await startLogged()));
afterAll(() => s?.stop());
const db = () => (s.databaseUrl ? ["--database-url", s.databaseUrl] : ["--db", s.db]);
const login = (name: string, password = "password123") =>
  call(s.url, "POST", "/v1/login", { body: { login: name, password } });
const info = (session: string) => call(s.url, "GET", "/v1/info", { session });

describe("admins from the command line", () => {
  test("user add --admin makes an admin, and the setup link printed at start stops working", async () => {
    const code = await setupCode(sink);
    const r = await echat(["user", "add", "--admin", "root", ...db()], "password123\n");
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created admin root \(id \d+\)\n$/) });
    expect((await info((await login("root")).body.session_id)).body.admin).toBe(true);
    expectError(await registerRaw(s.url, "usurper", code), 403, "invalid_invite");
  });

  test("user admin LOGIN on|off; the last admin stays one; anything but on or off is a usage error", async () => {
    const bob = await register(s.url, "bob");
    expect(await echat(["user", "admin", "bob", "on", ...db()])).toMatchObject({
      code: 0,
      stdout: "bob is now an admin\n",
    });
    expect((await info(bob.session)).body.admin).toBe(true);
    expect((await echat(["user", "admin", "bob", "off", ...db()])).code).toBe(0);
    expect((await info(bob.session)).body.admin).toBe(false);
    const last = await echat(["user", "admin", "root", "off", ...db()]);
    expect(last).toMatchObject({ code: 1, stderr: "echat: root is the last admin; make another admin first\n" });
    expect((await echat(["user", "admin", "bob", "maybe", ...db()])).code).toBe(2);
    expect(await echat(["user", "admin", "nobody", "on", ...db()])).toMatchObject({
      code: 1,
      stderr: 'echat: no user "nobody"\n',
    });
  });
});

describe("disable, enable, delete", () => {
  test("user disable: login is account_disabled, the server drops the sessions within its cache time and closes sockets at its next check", async () => {
    const [carol, dan] = [await register(s.url, "carol"), await register(s.url, "dan")];
    const room = await createRoom(s.url, carol, [dan]);
    const sock = await Socket.open(chatUrl(s, room, carol));
    const r = await echat(["user", "disable", "carol", ...db()]);
    expect(r).toMatchObject({ code: 0, stdout: "carol: disabled; their sessions have ended\n" });
    expectError(await login("carol"), 403, "account_disabled");
    s.clock.advance(60_001); // past the session cache's 10 s and the hub's one-minute session check
    expectError(await info(carol.session), 401, "unauthorized");
    expect(await sock.closed).toEqual({ code: 4001, reason: "logged out" });
    expect(await echat(["user", "enable", "carol", ...db()])).toMatchObject({ code: 0, stdout: "carol: enabled\n" });
    expect((await login("carol")).status).toBe(200);
  });

  test("user delete: the login is free again, the old account shows as deleted-<id>", async () => {
    const [erin, fred] = [await register(s.url, "erin"), await register(s.url, "fred")];
    const room = await createRoom(s.url, fred, [erin]);
    const r = await echat(["user", "delete", "erin", ...db()]);
    expect(r).toMatchObject({ code: 0, stdout: `deleted erin; their messages stay, shown as deleted-${erin.id}\n` });
    expectError(await login("erin"), 422, "user_not_found");
    const seen = await call(s.url, "GET", `/v1/rooms/${room}`, { session: fred.session });
    expect(seen.body.users.map((u: any) => u.login)).toEqual(["fred", `deleted-${erin.id}`]);
    expect((await register(s.url, "erin")).id).not.toBe(erin.id);
    expect((await echat(["user", "delete", "root", ...db()])).code).toBe(1); // the last admin
  });
});

describe("invites from the command line", () => {
  test("invite create prints the code and its link; invite list shows it; invite revoke ends it", async () => {
    const r = await echat(["invite", "create", "--uses", "2", "--expires", "1h", ...db()]);
    expect(r.code).toBe(0);
    const code = /^code: +(\S+)$/m.exec(r.stdout)![1]!;
    expect(r.stdout).toContain(`link:    <server address>/#invite=${code}\n`);
    expect(r.stdout).toContain("uses:    2\n");
    const withUrl = await echat([
      "invite",
      "create",
      "--uses",
      "3",
      "--public-url",
      "https://chat.example.org",
      ...db(),
    ]);
    expect(withUrl.stdout).toMatch(/^link: +https:\/\/chat\.example\.org\/#invite=[A-Za-z0-9_-]{24}$/m);
    await registerWith(s.url, "invited", code);
    const list = await echat(["invite", "list", ...db()]);
    expect(list.code).toBe(0);
    const rows = list.stdout.trimEnd().split("\n");
    expect(rows[0]).toBe("id\tuses_left\texpires_at\tcreated_by\troom_id");
    const mine = rows
      .slice(1)
      .map((row) => row.split("\t"))
      .find((p) => p[1] === "1")!;
    expect(mine[3]).toBe("-");
    expect(await echat(["invite", "revoke", mine[0]!, ...db()])).toMatchObject({ code: 0, stdout: "invite revoked\n" });
    expectError(await registerRaw(s.url, "too-late", code), 403, "invalid_invite");
    expect(await echat(["invite", "revoke", mine[0]!, ...db()])).toMatchObject({
      code: 1,
      stderr: "echat: no such invite\n",
    });
  });

  test.each([
    ["--uses", "0"],
    ["--uses", "1001"],
    ["--expires", "7x"],
    ["--expires", "10s"],
  ])("invite create %s %s is a usage error", async (flag, value) => {
    const r = await echat(["invite", "create", flag, value, ...db()]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toContain(flag);
  });
});
