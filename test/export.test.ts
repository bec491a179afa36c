// `echat export` and `echat import`: a community filled through the API, exported while its server runs and
// imported into a fresh database (of the suite's store, and of the other one), looks exactly the same from
// outside: rooms, histories, search, members, users, files' bytes, unread counts; new messages follow on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWithAdmin } from "./support/admin.ts";
import { run, SOURCE } from "./support/child.ts";
import { download, pngHeader, upload } from "./support/files.ts";
import { type Account, call, createRoom, expectError, register, registerAll } from "./support/http.ts";
import { SERVED } from "../lib/store/postgres/store.ts";
import { LogSink } from "./support/log.ts";
import { dropDatabase, freshDatabase, STORE, TEST_DATABASE_URL } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { answerTo, chatUrl, sendAll, Socket } from "./support/socket.ts";

type Community = { users: Account[]; rooms: number[] };

// Everything below through the API: an admin and an invite, direct rooms, a public and a private group, an
// archived group, messages with edits, deletes, replies, reactions, mentions and files, read markers, levels.
async function fill(s: TestServer, admin: Account): Promise<Community> {
  const [alice, bob, carol, dave] = await registerAll(s.url, ["alice", "Bob", "Кэрол", "dave"]);
  const as = (u: Account, method: string, path: string, body?: unknown) =>
    call(s.url, method, path, { session: u.session, body });
  await as(admin, "POST", "/v1/invites", { uses: 3 });
  const direct = await createRoom(s.url, alice, [bob]);
  const notes = await createRoom(s.url, dave, []);
  const open = (
    await as(alice, "POST", "/v1/rooms", { name: "Дача", topic: "лето", public: true, users: [bob, carol] })
  ).body.id;
  const closed = (await as(bob, "POST", "/v1/rooms", { name: "secret", users: [alice, admin] })).body.id;
  const old = (await as(carol, "POST", "/v1/rooms", { name: "old", users: [] })).body.id;
  await as(carol, "POST", `/v1/rooms/${old}/users`, { users: [{ id: dave.id }] });
  await as(dave, "DELETE", `/v1/rooms/${old}/users/${dave.id}`);
  await as(carol, "DELETE", `/v1/rooms/${old}/users/${carol.id}`); // the last member leaves: archived
  await as(alice, "PATCH", `/v1/rooms/${open}`, { topic: "осень" });

  const sa = await Socket.open(chatUrl(s, direct, alice));
  const [hello, second, gone] = await sendAll(sa, ["hello bob, погода", "second", "to be deleted \u0000"]);
  await sa.close();
  const reply = await answerTo(chatUrl(s, direct, bob), { text: "a reply", reply_to: hello.id, client_id: "r1" });
  expect(reply.reply_to).toBe(hello.id);
  await as(alice, "PATCH", `/v1/rooms/${direct}/messages/${second.id}`, { text: "second, edited" });
  await as(alice, "DELETE", `/v1/rooms/${direct}/messages/${gone.id}`);
  await as(bob, "PUT", `/v1/rooms/${direct}/messages/${hello.id}/reactions/${encodeURIComponent("👍")}`);
  await as(alice, "PUT", `/v1/rooms/${direct}/messages/${hello.id}/reactions/${encodeURIComponent("👍")}`);

  const text = (await upload(s.url, alice, open, "some bytes\n", { name: "notes.txt", type: "text/plain" })).body;
  const image = (await upload(s.url, alice, open, pngHeader(640, 480), { name: "shot.png", type: "image/png" })).body;
  await upload(s.url, bob, open, "never attached", { name: "orphan.txt" });
  const withFiles = { text: "@Bob @Кэрол see the погода files", files: [text.id, image.id], client_id: "f1" };
  expect((await answerTo(chatUrl(s, open, alice), withFiles)).files).toHaveLength(2);
  const sc = await Socket.open(chatUrl(s, open, carol, { events: "read" }));
  const [mine] = await sendAll(sc, ["carol's answer"]);
  sc.send({ type: "read", message_id: mine.id });
  await sc.next((f) => f.type === "read");
  await sc.close();
  await as(carol, "PUT", `/v1/rooms/${open}/settings`, { notify: "none" });
  await as(bob, "PUT", `/v1/rooms/${direct}/settings`, { notify: "mentions" });
  const sb = await Socket.open(chatUrl(s, closed, bob));
  await sendAll(sb, ["in secret", "@alice more"]);
  await sb.close();
  // More messages than one page of the export (1,000 rows): the next page starts after the last id read.
  const sd = await Socket.open(chatUrl(s, notes, dave));
  await sendAll(
    sd,
    Array.from({ length: 1100 }, (_, i) => `note ${i}`),
  );
  await sd.close();
  return { users: [admin, alice, bob, carol, dave], rooms: [direct, notes, open, closed, old] };
}

// Every view the API gives each user of the community, file URLs without their (time-bound) signature, and
// the bytes and ETag of every file.
async function view(s: { url: string; wsUrl: string }, users: Account[], rooms: number[]) {
  const get = (u: Account, path: string) => call(s.url, "GET", path, { session: u.session }).then((r) => r.body);
  const unsigned = (x: unknown) => JSON.parse(JSON.stringify(x).replace(/\?expires=\d+&sig=[\w-]+/g, ""));
  const perUser = [];
  const files: Record<string, unknown> = {};
  for (const u of users) {
    const history: Record<number, unknown> = {};
    const theirs = (await get(u, "/v1/rooms")) as { id: number }[];
    for (const { id } of theirs) {
      const messages = await get(u, `/v1/rooms/${id}/messages?limit=200`);
      for (const m of messages) for (const f of m.files ?? []) files[f.id] = await bytesOf(s.url, f.url);
      history[id] = { room: await get(u, `/v1/rooms/${id}`), messages, frames: await replay(s, u, id) };
    }
    perUser.push({
      info: await get(u, "/v1/info"),
      rooms: theirs,
      history,
      search: await Promise.all(["погода", "second", "hello", "more"].map((q) => get(u, `/v1/search?q=${q}`))),
      users: await get(u, "/v1/users?q=o"),
      directory: await get(u, "/v1/rooms/public"),
      notMember: (
        await Promise.all(rooms.map((r) => call(s.url, "GET", `/v1/rooms/${r}`, { session: u.session })))
      ).map((r) => r.status),
    });
  }
  const admin = users[0]!;
  return unsigned({ perUser, files, admins: await get(admin, "/v1/admin/users") });
}

// What only an export --with-secrets carries: invites, sessions, the push key.
async function secrets(s: { url: string }, [admin, alice]: Account[]) {
  const get = (u: Account, path: string) => call(s.url, "GET", path, { session: u!.session }).then((r) => r.body);
  return {
    invites: await get(admin!, "/v1/invites"),
    sessions: await get(alice!, "/v1/sessions"),
    key: await get(alice!, "/v1/push/key"),
  };
}

async function bytesOf(base: string, url: string) {
  const r = await download(base, url);
  return { status: r.status, etag: r.headers.get("etag"), bytes: Buffer.from(r.bytes).toString("base64") };
}

// The room's last 50 durable frames (messages and changes, with their seqs), as a resume by seq sends them.
async function replay(s: { url: string; wsUrl: string }, u: Account, room: number) {
  const { seq } = (await call(s.url, "GET", `/v1/rooms/${room}`, { session: u.session })).body;
  const sock = await Socket.open(chatUrl(s, room, u, { after: Math.max(0, seq - 50), events: "members,changes" }));
  const frames = [];
  while (frames.at(-1)?.seq !== seq) frames.push(await sock.next((f) => typeof f.seq === "number"));
  await sock.close();
  return frames;
}

// An export's records, parsed.
const records = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));

const cli = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
  run(SOURCE, args, { env: { DATABASE_URL: "", ...env }, stdin });
const where = (dir: string, databaseUrl: string) =>
  [["--db", join(dir, "echat.db")], { DATABASE_URL: databaseUrl }] as const;

describe("echat export and import", () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-export-"));
  const made: string[] = [];
  let source: TestServer;
  let community: Community;
  let before: Awaited<ReturnType<typeof view>>;
  let beforeSecrets: Awaited<ReturnType<typeof secrets>>;
  const file = join(dir, "full.jsonl");
  const plain = join(dir, "plain.jsonl");
  // The largest message id in the export (a deleted message's included: its id is never reused).
  const newestId = () =>
    Math.max(
      ...records(file)
        .filter((r) => r.type === "message")
        .map((r) => r.id),
    );

  // A target database, empty, of the given store; its folder holds the SQLite file or just the files.
  async function target(store = STORE) {
    const folder = mkdtempSync(join(dir, "target-"));
    const databaseUrl = store === "postgres" ? await freshDatabase(folder) : "";
    if (databaseUrl) made.push(databaseUrl);
    return { folder, databaseUrl, args: where(folder, databaseUrl) };
  }

  beforeAll(async () => {
    mkdirSync(join(dir, "source"));
    const { s, admin } = await startWithAdmin({ dir: join(dir, "source") }, "root");
    source = s;
    community = await fill(source, admin);
    before = await view(source, community.users, community.rooms);
    beforeSecrets = await secrets(source, community.users);
    // Exported while the server runs.
    const [db, env] = where(source.dir, source.databaseUrl);
    const full = await cli(["export", file, ...db, "--with-secrets", "--with-files"], env);
    expect(full).toMatchObject({ code: 0 });
    expect(full.stdout).toContain("exported 5 users, ");
    expect(full.stderr).toContain("export: 5 room records");
    expect((await cli(["export", plain, ...db], env)).code).toBe(0);
  }, 30_000);
  afterAll(async () => {
    await source?.stop();
    for (const url of made) await dropDatabase(url);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the file is JSON Lines: a header with the format's version, records, an end with the counts", () => {
    const lines = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(statSync(file).mode & 0o777).toBe(0o600); // it may hold secrets: its owner's only
    expect(lines[0]).toMatchObject({ type: "header", format: "echat-export", version: 1, schema: 11 });
    expect(lines[0]).toMatchObject({ store: STORE, with_secrets: true, with_files: true });
    expect(lines.at(-1)).toMatchObject({ type: "end", counts: { user: 5, room: 5, file: 3 } });
    expect(lines.filter((l) => l.type === "file_data")).toHaveLength(3);
    const plainLines = readFileSync(plain, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    const types = new Set(plainLines.map((l) => l.type));
    for (const secret of ["session", "invite", "setting", "push_subscription", "file_data"])
      expect(types.has(secret)).toBe(false);
    expect(plainLines.find((l) => l.type === "user")).not.toHaveProperty("password_hash");
  });

  const stores = [STORE, ...(TEST_DATABASE_URL ? [STORE === "sqlite" ? "postgres" : "sqlite"] : [])] as const;
  for (const store of stores) {
    test(`with --with-secrets and --with-files, every view is the same after an import into ${store}, and new messages follow`, async () => {
      const t = await target(store);
      const r = await cli(["import", file, ...t.args[0]], t.args[1]);
      expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining("imported 5 users") });
      const log = new LogSink();
      const s = await startServer({
        dir: t.folder,
        config: { databaseUrl: t.databaseUrl, logLevel: "info" },
        log: log.write,
      });
      try {
        // The source's files-folder mark was not imported: the new folder is the database's own.
        expect(log.lines.filter((l) => l.includes("files are local"))).toEqual([]);
        expect(await view(s, community.users, community.rooms)).toEqual(before);
        expect(await secrets(s, community.users)).toEqual(beforeSecrets);
        // Sessions came along (the same session ids work), and the old password logs in.
        const login = await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } });
        expect(login.status).toBe(200);
        const [, alice, bob] = community.users as [Account, Account, Account];
        const direct = community.rooms[0]!;
        const room = (await call(s.url, "GET", `/v1/rooms/${direct}`, { session: alice.session })).body;
        const sock = await Socket.open(chatUrl(s, direct, alice));
        const [next] = await sendAll(sock, ["after the import, zeppelin"]);
        await sock.close();
        expect(next).toMatchObject({ id: newestId() + 1, seq: room.seq + 1 });
        // A retry of a message sent before the export is recognized by its client_id, not stored again.
        const reply = before.perUser[2].history[direct].messages.find((m: any) => m.client_id === "r1");
        const retry = await answerTo(chatUrl(s, direct, bob), {
          text: "a reply",
          reply_to: reply.reply_to,
          client_id: "r1",
        });
        expect(retry.id).toBe(reply.id);
        expect(await register(s.url, "erin")).toMatchObject({ id: 6 });
        expect(await createRoom(s.url, bob, [alice, community.users[3]!])).toBe(6);
        const found = await call(s.url, "GET", "/v1/search?q=zeppelin", { session: bob.session });
        expect(found.body.results.map((r: any) => r.message.id)).toEqual([next.id]);
        const unread = before.perUser[2].rooms.find((x: any) => x.id === direct).unread;
        const now = (await call(s.url, "GET", "/v1/rooms", { session: bob.session })).body;
        expect(now.find((x: any) => x.id === direct)).toMatchObject({ unread: unread + 1, last_message: next });
      } finally {
        await s.stop();
      }
    });
  }

  test("without --with-secrets users exist but cannot log in until `echat user passwd`; then every view is the same", async () => {
    const t = await target();
    // The files stay references: their folder is copied beside the new database, as docs/export.md says.
    cpSync(join(source.dir, "echat-files"), join(t.folder, "echat-files"), { recursive: true });
    const r = await cli(["import", plain, ...t.args[0]], t.args[1]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nobody can log in until `echat user passwd <login>` sets one");
    expect(r.stdout).not.toContain("are not in"); // the bytes are where the rows say
    const s = await startServer({ dir: t.folder, config: { databaseUrl: t.databaseUrl } });
    try {
      const [, alice] = community.users as [Account, Account];
      const login = (l: string, password: string) => call(s.url, "POST", "/v1/login", { body: { login: l, password } });
      expectError(await login("alice", "password123"), 422, "wrong_credentials");
      expect((await call(s.url, "GET", "/v1/info", { session: alice.session })).status).toBe(401);
      const fresh: Account[] = [];
      for (const u of community.users) {
        const set = await cli(["user", "passwd", u.login, ...t.args[0]], t.args[1], "a new password\n");
        expect(set.code).toBe(0);
        fresh.push({ ...u, session: (await login(u.login, "a new password")).body.session_id });
      }
      // The same, but for the logins just made (GET /v1/admin/users shows when each user was last seen).
      const unseen = (v: typeof before) => ({ ...v, admins: v.admins.map((u: any) => ({ ...u, last_seen_at: 0 })) });
      expect(unseen(await view(s, fresh, community.rooms))).toEqual(unseen(before));
    } finally {
      await s.stop();
    }
  });

  test("an unreadable file, a wrong version, a malformed line, a cut file, bad bytes: a clear message, exit 1, nothing imported", async () => {
    const good = readFileSync(file, "utf8").trimEnd().split("\n");
    const line = (n: number, text: string) => good.map((l, i) => (i === n - 1 ? text : l)).join("\n");
    const user = JSON.parse(good[1]!);
    const data = good.findIndex((l) => l.includes('"file_data"'));
    const cases: [string, string | Buffer | null, string][] = [
      ["missing", null, "cannot read"],
      ["empty", "", "the file is empty: not an echat export"],
      ["not an export", '{"hello":1}', "line 1: not an echat export"],
      ["newer", line(1, good[0]!.replace('"version":1', '"version":99')), "export format version 99"],
      ["malformed", line(3, '{"type":"user",'), "line 3: not valid JSON"],
      ["not a record", line(4, "[1,2]"), 'line 4: not a record (a JSON object with a "type")'],
      [
        "bad field",
        line(2, JSON.stringify({ ...user, login: 5 })),
        'line 2: "login" of a user record must be a string',
      ],
      [
        "unknown field",
        line(2, JSON.stringify({ ...user, extra: 1 })),
        'line 2: unknown field "extra" in a user record',
      ],
      ["unknown type", line(2, '{"type":"robot"}'), 'line 2: unknown record type "robot"'],
      ["out of order", line(2, good.find((l) => l.includes('"type":"room"'))!), "a user record after room records"],
      ["cut", good.slice(0, -1).join("\n"), "without its end record: is it cut short?"],
      [
        "not utf-8",
        Buffer.from(`${good[0]}\n{"type":"user","login":"\xff"}`, "latin1"),
        "import failed: line 2: not UTF-8",
      ],
      ["bad bytes", line(data + 1, good[data]!.replace(/"data":"[^"]{4}/, '"data":"AAAA')), "do not match its sha256"],
      ["duplicate", line(3, good[1]!), "lines 2-6: the database refused these user records: "],
    ];
    const t = await target();
    for (const [name, content, message] of cases) {
      const bad = join(dir, `bad-${name.replaceAll(" ", "-")}.jsonl`);
      if (content !== null) writeFileSync(bad, content);
      const r = await cli(["import", bad, ...t.args[0]], t.args[1]);
      expect({ name, code: r.code, stdout: r.stdout }).toEqual({ name, code: 1, stdout: "" });
      expect(r.stderr).toContain(message);
    }
    // Each failure left the database empty: the good file goes in now.
    expect((await cli(["import", file, ...t.args[0]], t.args[1])).code).toBe(0);
  });

  test.skipIf(!TEST_DATABASE_URL)(
    "import refuses a PostgreSQL database an instance serves, even an empty one; once it stops, it imports",
    async () => {
      const t = await target("postgres");
      const s = await startServer({ dir: t.folder, config: { databaseUrl: t.databaseUrl } });
      try {
        const r = await cli(["import", plain, ...t.args[0]], t.args[1]);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `echat: ${SERVED}\n` });
        const login = await call(s.url, "POST", "/v1/login", { body: { login: "alice", password: "password123" } });
        expectError(login, 422, "user_not_found");
      } finally {
        await s.stop();
      }
      expect((await cli(["import", plain, ...t.args[0]], t.args[1])).code).toBe(0);
    },
  );

  test("import refuses a database that holds data; export refuses to write over a file", async () => {
    const t = await target(); // no server on it: on SQLite a serving one refuses first (sqlite-file.test.ts)
    expect((await cli(["import", plain, ...t.args[0]], t.args[1])).code).toBe(0);
    const r = await cli(["import", file, ...t.args[0]], t.args[1]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the database is not empty: import only into a new database");
    const [db, env] = where(source.dir, source.databaseUrl);
    const again = await cli(["export", file, ...db], env);
    expect({ code: again.code, stderr: again.stderr }).toEqual({
      code: 1,
      stderr: `echat: ${file} already exists; give a new file name\n`,
    });
    const nothing = await cli(["export", join(dir, "none.jsonl"), "--db", join(dir, "missing.db")]);
    expect({ code: nothing.code, stderr: nothing.stderr }).toEqual({
      code: 1,
      stderr: `echat: no database at ${join(dir, "missing.db")} (set --db or ECHAT_DB)\n`,
    });
    const help = await cli(["export", "--help"]);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining("--with-secrets") });
  });
});
