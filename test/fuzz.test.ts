// Hostile input, bounded: a fixed seed and a fixed number of cases against every endpoint and the
// room WebSocket. Asserts no 5xx, every error a catalogued code with its status, the server alive
// afterwards and the database intact.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERRORS } from "../lib/errors.ts";
import { body, frame, query, randomBytes, rawPath, roomSegment, text } from "./support/fuzz-cases.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { opensSqliteFile } from "./support/postgres.ts";
import { prng } from "./support/prng.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, Socket } from "./support/socket.ts";

const SEED = 20261126;
const HTTP_CASES = 3000;
const RAW_CASES = 500;
const FRAMES = 1400;
const RAW_WS_CASES = 100;

const r = prng(SEED);
const dir = mkdtempSync(join(tmpdir(), "echat-fuzz-"));
let s: TestServer;
let users: Account[]; // their sessions are fuzzed: logged out, passwords changed
let room: number;
let steady: Account[]; // never handed to the HTTP fuzz: the WebSocket cases use them
let steadyRoom: number;
const sessions: string[] = []; // fuzz users' sessions, for every endpoint but logout and password
const burnable: string[] = []; // a fourth user's, for logout and password, which end sessions
const outcomes = new Map<string, number>();
const problems: string[] = [];
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

beforeAll(async () => {
  // A raw socket that stops mid-frame is dropped at the idle timeout: the shortest allowed keeps the run short.
  s = await startServer({ config: { limits: false, wsIdleTimeout: 8 }, dir });
  users = [];
  for (let i = 0; i < 3; i++) users.push(await register(s.url, `fuzz${i}`));
  room = await createRoom(s.url, users[0]!, users.slice(1));
  steady = [];
  for (let i = 0; i < 3; i++) steady.push(await register(s.url, `steady${i}`));
  steadyRoom = await createRoom(s.url, steady[0]!, steady.slice(1));
  const login = async (u: Account) =>
    (await call(s.url, "POST", "/v1/login", { body: { login: u.login, password: "password123" } })).body
      .session_id as string;
  for (const u of users) {
    sessions.push(u.session);
    for (let i = 0; i < 3; i++) sessions.push(await login(u));
  }
  const burner = await register(s.url, "burner");
  for (let i = 0; i < 100; i++) burnable.push(await login(burner));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The verdict on one HTTP answer. `transport`: Bun's HTTP parser may refuse it before our code runs
// (400/413/431, and 505 for a broken request line, without a body), which is fine for a request that
// is malformed or oversized as HTTP.
function judge(label: string, method: string, status: number, text: string, transport = false) {
  if (transport && text === "" && [400, 413, 431, 505].includes(status))
    return void count(`http ${status} from the parser`);
  count(`http ${status}`);
  if (status >= 500) return void problems.push(`${label}: ${status} ${text.slice(0, 200)}`);
  if (method === "HEAD") return;
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    return void problems.push(`${label}: ${status} body is not JSON: ${text.slice(0, 100)}`);
  }
  if (status < 400) return;
  const code = parsed?.error?.code;
  if (!(code in ERRORS)) return void problems.push(`${label}: unknown error code ${JSON.stringify(code)}`);
  if (ERRORS[code as keyof typeof ERRORS][0] !== status) problems.push(`${label}: ${code} with status ${status}`);
  if (typeof parsed.error.message !== "string") problems.push(`${label}: error without a message`);
  count(`code ${code}`);
}

const ENDPOINTS = [
  ["POST", "/v1/register"],
  ["POST", "/v1/login"],
  ["POST", "/v1/logout"],
  ["POST", "/v1/password"],
  ["GET", "/v1/info"],
  ["GET", "/v1/users"],
  ["GET", "/v1/rooms"],
  ["POST", "/v1/rooms"],
  ["GET", "/v1/rooms/:id"],
  ["GET", "/v1/rooms/:id/messages"],
  ["GET", "/v1/rooms/:id/chat"],
  ["GET", "/v1/sessions"],
  ["DELETE", "/v1/sessions/:id"],
  ["GET", "/v1/invites"],
  ["POST", "/v1/invites"],
  ["DELETE", "/v1/invites/:id"],
  ["GET", "/v1/admin/users"],
  ["PATCH", "/v1/admin/users/:id"],
  ["DELETE", "/v1/admin/users/:id"],
] as const;
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
const ascii = (n: number) => Array.from({ length: n }, () => String.fromCharCode(33 + r.int(94))).join("");

function headers(path: string): Record<string, string> {
  const h: Record<string, string> = {};
  const pool = path === "/v1/logout" || path === "/v1/password" ? burnable : sessions;
  const session = () =>
    r.pick([
      r.pick(pool),
      r.pick(pool),
      r.pick(pool),
      "nope",
      "A".repeat(40),
      "0".repeat(40),
      "f".repeat(41),
      ` ${r.pick(pool)} `,
      ascii(40),
    ]);
  const auth = r.int(10);
  if (auth >= 6) h["x-session-id"] = r.chance(0.9) ? r.pick(pool) : session(); // mostly a live session, to get past auth
  if (auth === 1 || auth === 5) h["x-session-id"] = session();
  if (auth === 2 || auth === 5) h.authorization = r.pick(["Bearer ", "bearer ", "Basic ", "Bearer  ", ""]) + session();
  if (auth === 3) h.authorization = ascii(r.int(100));
  if (r.chance(0.7))
    h["content-type"] = r.pick([
      "application/json",
      "text/plain",
      "multipart/form-data; boundary=x",
      "application/json; charset=latin1",
      ascii(20),
    ]);
  if (r.chance(0.1)) h["x-forwarded-for"] = r.pick(["1.2.3.4", "::1", ascii(30), "1.1.1.1, 2.2.2.2"]);
  if (r.chance(0.1)) h.origin = r.pick(["http://evil.example", "null", ascii(10)]);
  return h;
}

test(`${HTTP_CASES} mutated HTTP requests to every endpoint: no 5xx, only catalogued errors`, async () => {
  const ids = users.map((u) => u.id);
  const cases = Array.from({ length: HTTP_CASES }, (_, i) => {
    const [right, template] = r.pick(ENDPOINTS);
    const method = r.chance(0.8) ? right : r.pick(METHODS);
    const path = template.replace(":id", roomSegment(r, room)) + (r.chance(0.4) ? query(r) : "");
    const b = method === "GET" || method === "HEAD" ? { kind: "none" } : body(template, r, ids);
    return { i, method, path, headers: headers(template), b };
  });
  const run = async (c: (typeof cases)[number]) => {
    const label = `#${c.i} ${c.method} ${c.path.slice(0, 80)} [${c.b.kind}]`;
    let data = "data" in c.b ? c.b.data : undefined;
    if ("stream" in c.b && c.b.stream) {
      const bytes = new TextEncoder().encode(String(data));
      data = new ReadableStream({
        start(ctl) {
          for (let at = 0; at < bytes.length; at += 16_384) ctl.enqueue(bytes.subarray(at, at + 16_384));
          ctl.close();
        },
      });
    }
    try {
      // call() also checks the reply against the OpenAPI document.
      const res = await call(s.url, c.method, c.path, { headers: c.headers, raw: data as BodyInit | undefined });
      judge(label, c.method, res.status, typeof res.body === "string" ? res.body : JSON.stringify(res.body));
    } catch (e) {
      problems.push(`${label}: request failed: ${e}`);
    }
  };
  for (let at = 0; at < cases.length; at += 8) await Promise.all(cases.slice(at, at + 8).map(run));
  expect(problems).toEqual([]);
}, 60_000);

// One request over a fresh TCP connection; the raw answer.
function rawRequest(payload: Uint8Array | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(s.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", () => {});
    sock.on("close", () => {
      const all = Buffer.concat(chunks).toString("utf8");
      const head = all.indexOf("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(all)?.[1] ?? 0), text: head < 0 ? "" : all.slice(head + 4) });
    });
    // Half-close only once the server has answered: Bun drops a request whose client closed its side
    // before the answer was ready, and with PostgreSQL the answer takes a round trip to the database.
    sock.write(payload);
    sock.once("data", () => sock.end());
  });
}

test(`${RAW_CASES} raw request lines (slashes, dots, percent-encoding, long URLs, broken HTTP): sane answers`, async () => {
  for (let i = 0; i < RAW_CASES; i++) {
    const method = r.chance(0.9) ? r.pick(["GET", "POST", "HEAD"]) : r.pick(["G\u0001T", "", "get", "BREW", "GET /"]);
    const path = r.chance(0.95)
      ? rawPath(r, room)
      : r.pick(["*", "", "noslash", "http://evil/v1/info", "/v1/info HTTP/1.0 x"]);
    const hdrs = r.chance(0.9)
      ? `X-Session-Id: ${r.pick(sessions)}\r\n`
      : r.pick([`X-Long: ${"a".repeat(20_000)}\r\n`, `Bad Header\r\n`, `X-Bin: \u00ff\u00fe\r\n`]);
    const bodyText = method === "POST" ? JSON.stringify({ login: text(r, 10), password: "password123" }) : "";
    const request = `${method} ${path} HTTP/1.1\r\nHost: x\r\n${hdrs}Content-Length: ${Buffer.byteLength(bodyText)}\r\nConnection: close\r\n\r\n${bodyText}`;
    const wellFormed =
      /^(GET|POST|HEAD)$/.test(method) &&
      /^\/[\x21-\x7e]*$/.test(path) &&
      request.length < 16_000 &&
      !hdrs.startsWith("Bad") &&
      !hdrs.startsWith("X-Bin");
    const { status, text: answer } = await rawRequest(Buffer.from(request, "latin1"));
    if (status === 0 && wellFormed) problems.push(`raw #${i} ${method} ${path.slice(0, 60)}: no answer`);
    else if (status === 0) count("http connection closed by the parser");
    else judge(`raw #${i} ${method} ${path.slice(0, 60)}`, method, status, answer, !wellFormed);
  }
  expect(problems).toEqual([]);
}, 60_000);

test("odd paths get not_found or the room's own refusal, never a crash", async () => {
  const h = { session: steady[0]!.session };
  const room = steadyRoom;
  const raw = (path: string) =>
    rawRequest(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Session-Id: ${h.session}\r\nConnection: close\r\n\r\n`);
  const table: Array<[string, number, string?]> = [
    ["/v1/info/", 404, "not_found"],
    ["//v1/info", 404, "not_found"],
    ["/v1//info", 404, "not_found"],
    ["/v1/./info", 404, "not_found"],
    ["/v1/../v1/info", 404, "not_found"],
    ["/v1/rooms/1/../../info", 404, "not_found"],
    ["/v1/%69nfo", 404, "not_found"],
    ["/%zz", 404, "not_found"],
    ["/..%2f..%2fetc%2fpasswd", 404, "not_found"],
    [`/v1/rooms/${room}/`, 404, "not_found"],
    ["/" + "a/".repeat(4000), 404, "not_found"],
    [`/v1/rooms/${[...String(room)].map((d) => "%3" + d).join("")}`, 200], // %31 is "1" (RFC 3986): the same room
    ["/v1/rooms/1%2f", 422, "room_not_found"],
    ["/v1/rooms/%2e%2e", 422, "room_not_found"],
    ["/v1/rooms/%2531", 422, "room_not_found"],
    ["/v1/rooms/%00", 422, "room_not_found"],
    ["/v1/rooms/１", 422, "room_not_found"],
    [`/v1/rooms/${"9".repeat(40)}`, 422, "room_not_found"],
    ["/v1/info?%zz=%", 200],
    [`/v1/rooms/${room}/messages?limit=%zz`, 422, "invalid_query"],
    [`/v1/users?q=${"a".repeat(8000)}`, 200],
  ];
  for (const [path, status, code] of table) {
    const res = await raw(path);
    expect({
      path: path.slice(0, 40),
      status: res.status,
      code: res.status >= 400 ? JSON.parse(res.text).error.code : undefined,
    }).toEqual({ path: path.slice(0, 40), status, code });
  }
  // Past Bun's 16 KiB request-head limit the parser answers 431 itself, before any route.
  expect((await raw(`/v1/users?q=${"a".repeat(100_000)}`)).status).toBe(431);
  expect((await call(s.url, "GET", "/v1/info", h)).status).toBe(200);
});

test(`${FRAMES} hostile WebSocket frames: each answered with a message or a catalogued error; oversize closes with 1009`, async () => {
  const room = steadyRoom;
  const open = (u: number) =>
    Socket.open(chatUrl(s, room, steady[u]!, r.chance(0.5) ? { events: "typing,presence,read" } : {}));
  const socks = await Promise.all([0, 1, 2].map(open));
  let sent = 0;
  let sentinel = 0;
  const sentinels: number[] = [];
  while (sent < FRAMES) {
    const who = r.int(3);
    const f = frame(r);
    sent++;
    if (f.oversize) {
      socks[who]!.send(f.data);
      const closed = await socks[who]!.closed;
      count(`ws close ${closed.code}`);
      if (closed.code !== 1009) problems.push(`oversize frame closed with ${closed.code}`);
      socks[who] = await open(who);
      continue;
    }
    socks[who]!.ws.send(f.data as string | Uint8Array<ArrayBuffer>);
    if (sent % 20 !== 0) continue;
    for (const [u, sock] of socks.entries()) {
      const id = `sentinel-${sentinel++}`;
      sock.send({ text: id, client_id: id });
      sentinels.push((await sock.next((x) => x.client_id === id)).id);
      for (const x of sock.inbox.splice(0)) {
        if (x.error) {
          if (!(x.error.code in ERRORS) || x.error.code === "internal_error")
            problems.push(`ws ${u}: error ${JSON.stringify(x).slice(0, 200)}`);
          count(`ws ${x.error.code}`);
        } else if (isMessage(x) || ["presence", "typing", "read", "message"].includes(x.type)) {
          count("ws ok frame");
        } else {
          problems.push(`ws ${u}: unexpected frame ${JSON.stringify(x).slice(0, 200)}`);
        }
      }
    }
  }
  await Promise.all(socks.map((x) => x.close()));
  // every acknowledged sentinel is in history, once
  const history: any[] = [];
  for (let after = 0; ; ) {
    const page = (
      await call(s.url, "GET", `/v1/rooms/${room}/messages?after=${after}&limit=200`, { session: steady[0]!.session })
    ).body;
    if (!Array.isArray(page) || page.length === 0) break;
    history.push(...page);
    after = page.at(-1).id;
  }
  const stored = new Set(history.map((m) => m.id));
  expect(sentinels.filter((id) => !stored.has(id))).toEqual([]);
  expect(problems).toEqual([]);
}, 60_000);

// A masked client frame (RFC 6455 5.2); `mask: false` breaks the protocol on purpose.
function wsFrame(opcode: number, payload: Uint8Array, mask = true): Uint8Array {
  const len = payload.length;
  const head =
    len < 126
      ? [0x80 | opcode, (mask ? 0x80 : 0) | len]
      : [0x80 | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff];
  const key = [1, 2, 3, 4];
  const body = mask ? payload.map((b, i) => b ^ key[i % 4]!) : payload;
  return Uint8Array.from([...head, ...(mask ? key : []), ...body]);
}

test(`${RAW_WS_CASES} protocol-level WebSocket abuse (invalid UTF-8 text, bad opcodes, unmasked frames): the server drops only that socket`, async () => {
  const url = new URL(chatUrl(s, steadyRoom, steady[0]!));
  const path = url.pathname + url.search;
  for (let i = 0; i < RAW_WS_CASES; i++) {
    const kind = r.int(4);
    const payload = kind === 0 ? Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]) : randomBytes(r, r.int(100));
    const bytes =
      kind === 0
        ? wsFrame(1, payload)
        : kind === 1
          ? wsFrame(3 + r.int(5), payload)
          : kind === 2
            ? wsFrame(1, payload, false)
            : payload;
    const closed = await new Promise<string>((resolve) => {
      const sock = net.connect(s.port, "127.0.0.1");
      let upgraded = false;
      const chunks: Buffer[] = [];
      sock.on("error", () => {});
      sock.on("data", (d: Buffer) => {
        chunks.push(d);
        if (!upgraded && Buffer.concat(chunks).includes("\r\n\r\n")) {
          upgraded = true;
          sock.write(bytes);
          if (kind === 3) sock.write(wsFrame(8, Uint8Array.from([0x03, 0xe8]))); // garbage then a clean close
        }
      });
      sock.on("close", () => resolve(Buffer.concat(chunks).toString("latin1").split("\r\n")[0]!));
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    if (closed !== "HTTP/1.1 101 Switching Protocols") problems.push(`raw ws #${i}: handshake answered ${closed}`);
    count(`raw ws kind ${kind} closed`);
  }
  expect(problems).toEqual([]);
}, 60_000);

test("afterwards the server answers normally and the database passes integrity_check", async () => {
  const fresh = await register(s.url, "after-the-storm");
  expect((await call(s.url, "GET", "/v1/info", { session: fresh.session })).body.login).toBe("after-the-storm");
  await s.stop();
  if (opensSqliteFile("the integrity check")) {
    const db = new Database(join(dir, "echat.db"), { readonly: true });
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    db.close();
  }
  const total = HTTP_CASES + RAW_CASES + FRAMES + RAW_WS_CASES;
  console.log(`fuzz: seed ${SEED}, ${total} cases; outcomes:`, Object.fromEntries([...outcomes].sort()));
  expect(problems).toEqual([]);
});
