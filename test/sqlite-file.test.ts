// The SQLite file and other processes: one server per file (a second `echat serve` exits 1, the CLI
// works beside the first but import, a killed server leaves no stale lock), a write lock held elsewhere answers
// 503 instead of freezing the server, and every file the server makes is 0600 whatever the umask.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Child, run, SOURCE, startChild } from "./support/child.ts";
import { call, expectError, register } from "./support/http.ts";
import { opensSqliteFile } from "./support/postgres.ts";
import { startServer } from "./support/server.ts";
import { Socket } from "./support/socket.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function folder() {
  const d = mkdtempSync(join(tmpdir(), "echat-file-"));
  dirs.push(d);
  return d;
}

async function stopChild(child: Child, signal: "SIGTERM" | "SIGKILL" = "SIGTERM") {
  child.proc.kill(signal);
  return child.proc.exited;
}

const password = "password123\n";

describe.skipIf(!opensSqliteFile("the one-server-per-file test"))("one server per SQLite file", () => {
  test("a second serve on the same file exits 1 and says why; the first keeps serving", async () => {
    const db = join(folder(), "echat.db");
    const first = await startChild(SOURCE, ["--db", db]);
    try {
      const second = await run(SOURCE, ["serve", "--port", "0", "--host", "127.0.0.1", "--db", db]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`another echat server is already serving ${db}`);
      expect(second.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(
        (await call(first.url, "POST", "/v1/register", { body: { login: "alice", password: "password123" } })).status,
      ).toBe(200);
      // Another file is another server's business.
      const other = await startChild(SOURCE, ["--db", join(folder(), "other.db")]);
      expect(await stopChild(other)).toBe(0);
    } finally {
      expect(await stopChild(first)).toBe(0);
    }
  });

  test("the CLI's commands work beside a running server", async () => {
    const dir = folder();
    const db = join(dir, "echat.db");
    const server = await startChild(SOURCE, ["--db", db]);
    try {
      const alice = await register(server.url, "alice");
      expect(await run(SOURCE, ["user", "add", "bob", "--db", db], { stdin: password })).toMatchObject({ code: 0 });
      const list = await run(SOURCE, ["user", "list", "--db", db]);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain("\talice\t");
      expect(list.stdout).toContain("\tbob\t");
      expect(await run(SOURCE, ["user", "passwd", "bob", "--db", db], { stdin: "another123\n" })).toMatchObject({
        code: 0,
      });
      expect(await run(SOURCE, ["backup", join(dir, "copy.db"), "--db", db])).toMatchObject({ code: 0 });
      const login = await call(server.url, "POST", "/v1/login", { body: { login: "bob", password: "another123" } });
      expect(login.status).toBe(200);
      expect((await call(server.url, "GET", "/v1/info", { session: alice.session })).status).toBe(200);
    } finally {
      expect(await stopChild(server)).toBe(0);
    }
  });

  test("echat import into a file a server is serving is refused and writes nothing; once it stops, it imports", async () => {
    const dir = folder();
    const db = join(dir, "echat.db");
    const file = join(dir, "out.jsonl");
    const source = join(dir, "source.db");
    expect(await run(SOURCE, ["user", "add", "alice", "--db", source], { stdin: password })).toMatchObject({ code: 0 });
    expect((await run(SOURCE, ["export", file, "--db", source])).code).toBe(0);
    const server = await startChild(SOURCE, ["--db", db]); // a fresh database: import would take it otherwise
    try {
      const refused = await run(SOURCE, ["import", file, "--db", db]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `echat: another echat server is already serving ${db} (it holds ${db}-lock); stop it first\n`,
      );
      const login = await call(server.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } });
      expectError(login, 422, "user_not_found");
    } finally {
      expect(await stopChild(server)).toBe(0);
    }
    const invites = () => {
      const opened = new Database(db, { readonly: true });
      const { n } = opened.query("SELECT count(*) AS n FROM invites").get() as { n: number };
      opened.close();
      return n;
    };
    expect(invites()).toBe(1); // the first-admin setup link the start made
    expect((await run(SOURCE, ["import", file, "--db", db])).code).toBe(0);
    expect((await run(SOURCE, ["user", "list", "--db", db])).stdout).toContain("\talice\t");
    expect(invites()).toBe(0); // gone with the import: a start without an admin makes a new one
  });

  test("a server killed with SIGKILL leaves no stale lock: the next one starts and has the data", async () => {
    const db = join(folder(), "echat.db");
    const killed = await startChild(SOURCE, ["--db", db]);
    await register(killed.url, "alice");
    await stopChild(killed, "SIGKILL");
    const next = await startChild(SOURCE, ["--db", db]);
    try {
      const r = await call(next.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } });
      expect(r.status).toBe(200);
    } finally {
      expect(await stopChild(next)).toBe(0);
    }
  });
});

describe.skipIf(!opensSqliteFile("the busy-database test"))("a write lock held by another connection", () => {
  test("REST writes answer 503 unavailable with Retry-After, reads go on, and writes work once it is released", async () => {
    const s = await startServer();
    try {
      const [alice, bob] = await Promise.all([register(s.url, "alice"), register(s.url, "bob")]);
      const createRoom = () =>
        call(s.url, "POST", "/v1/rooms", { session: alice.session, body: { users: [{ id: bob.id }] } });
      const room = (await createRoom()).body.id;
      const sock = await Socket.open(`${s.wsUrl}/v1/rooms/${room}/chat?session_id=${alice.session}`);
      sock.send({ text: "before the lock" });
      const sent = await sock.next((f) => f.text === "before the lock");
      // Only to hold the lock, as another process would; every assertion goes through the API.
      const holder = new Database(s.db);
      holder.run("BEGIN IMMEDIATE");
      try {
        // A socket's write on the serving thread (a read marker) gets the same answer as an error frame.
        sock.send({ type: "read", message_id: sent.id });
        expect((await sock.next((f) => f.error)).error.code).toBe("unavailable");
        const refused = await createRoom();
        expectError(refused, 503, "unavailable");
        expect(refused.headers.get("retry-after")).toBe("1");
        expectError(
          await call(s.url, "POST", "/v1/register", { body: { login: "carol", password: "password123" } }),
          503,
          "unavailable",
        );
        expect((await call(s.url, "GET", "/v1/rooms", { session: alice.session })).status).toBe(200);
        expect((await call(s.url, "GET", "/healthz")).status).toBe(200);
      } finally {
        holder.run("ROLLBACK");
        holder.close();
      }
      const created = await createRoom();
      expect(created.status).toBe(200);
      expect(created.body.users.map((u: any) => u.id)).toEqual([alice.id, bob.id]);
      await sock.close();
      expect((await register(s.url, "carol")).login).toBe("carol");
    } finally {
      await s.stop();
    }
  });
});

describe.skipIf(!opensSqliteFile("the file-mode test"))("files the server creates", () => {
  // The command under a permissive umask: sh sets it and execs bun with the arguments that follow.
  const UMASK_000 = ["sh", "-c", 'umask 000 && exec "$0" "$@"', ...SOURCE];
  const mode = (path: string) => statSync(path).mode & 0o777;

  test("with umask 000, the database, its WAL, SHM and lock, a backup and a new CLI database are 0600", async () => {
    const dir = folder();
    // The control: under this umask, a plain file is created world-writable.
    expect((await run(["sh", "-c", `umask 000 && touch "$0"`, join(dir, "control")], [])).code).toBe(0);
    expect(mode(join(dir, "control"))).toBe(0o666);

    const db = join(dir, "echat.db");
    const server = await startChild(UMASK_000, ["--db", db]);
    try {
      const alice = await register(server.url, "alice");
      const room = (await call(server.url, "POST", "/v1/rooms", { session: alice.session, body: { users: [] } })).body
        .id;
      const sock = await Socket.open(`${server.wsUrl}/v1/rooms/${room}/chat?session_id=${alice.session}`);
      sock.send({ text: "into the WAL", client_id: "m1" });
      await sock.next((f) => f.client_id === "m1");
      await sock.close();
      expect(await run(UMASK_000, ["backup", join(dir, "backup.db"), "--db", db])).toMatchObject({ code: 0 });
      expect(
        await run(UMASK_000, ["user", "add", "bob", "--db", join(dir, "new.db")], { stdin: password }),
      ).toMatchObject({ code: 0 });
      for (const file of ["echat.db", "echat.db-wal", "echat.db-shm", "echat.db-lock", "backup.db", "new.db"])
        expect({ file, mode: mode(join(dir, file)).toString(8) }).toEqual({ file, mode: "600" });
    } finally {
      expect(await stopChild(server)).toBe(0);
    }
    expect(mode(db).toString(8)).toBe("600");
  });
});
