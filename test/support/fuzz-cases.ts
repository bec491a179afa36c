// Case generators for test/fuzz.test.ts: hostile values, bodies, paths and frames, drawn from a seeded PRNG.
import type { Rng } from "./prng.ts";

const FIELDS = [
  "login",
  "password",
  "old_password",
  "new_password",
  "users",
  "id",
  "text",
  "client_id",
  "type",
  "message_id",
  "q",
  "__proto__",
  "constructor",
  "",
  "LOGIN",
  "login\u0000",
];
const NUMBERS = [0, -1, 1, 1.5, -0, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 5e-324, 1e21, 123456789012];
const STRINGS = [
  "",
  " ",
  "a",
  "password123",
  "null",
  "0",
  "-1",
  "1e999",
  "\u0000",
  "\u202e\u0301",
  "😀",
  "\ud800",
  "\udfff",
  "<script>",
  "'; DROP TABLE users;--",
  "%00",
  "../../etc/passwd",
  "\r\n\r\n",
  "ｆｕｌｌ",
  "ß",
  "İ",
  "\u200b",
  "a\u0000b",
];

export function text(r: Rng, max = 40): string {
  const n = r.int(max);
  let out = "";
  for (let i = 0; i < n; i++) {
    const k = r.int(10);
    out +=
      k < 5
        ? String.fromCharCode(32 + r.int(95))
        : k < 8
          ? String.fromCodePoint(r.int(0x10ffff + 1 - 0x800) + 0x800).replace(/[\ud800-\udfff]/g, "x")
          : k < 9
            ? String.fromCharCode(r.int(32))
            : String.fromCharCode(0xd800 + r.int(0x800)); // control, lone surrogate
  }
  return out;
}

export function value(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(NUMBERS);
    case 3:
      return r.pick(STRINGS);
    case 4:
      return r.chance(0.05) ? "x".repeat(r.int(70_000)) : text(r);
    case 5:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: r.int(5) }, () => [r.chance(0.7) ? r.pick(FIELDS) : text(r, 8), value(r, depth + 1)]),
      );
  }
}

// A valid body for an endpoint, to mutate.
export function validBody(path: string, r: Rng, ids: number[]): Record<string, unknown> {
  if (path === "/v1/register") return { login: `fz${r.int(1e9)}`, password: "password123" };
  if (path === "/v1/login") return { login: r.pick(["fuzz0", "fuzz1", "fuzz2", "nobody"]), password: "password123" };
  if (path === "/v1/password") return { old_password: "password123", new_password: "password123" };
  if (path === "/v1/rooms")
    return {
      users: ids.slice(0, 1 + r.int(ids.length)).map((id) => (r.chance(0.5) ? { id } : { login: `fuzz${id % 3}` })),
    };
  return {};
}

function mutate(body: Record<string, unknown>, r: Rng): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  const keys = Object.keys(out);
  for (let i = 0, n = 1 + r.int(2); i < n; i++) {
    const k = r.int(3);
    if (k === 0 && keys.length) delete out[r.pick(keys)];
    else if (k === 1 && keys.length) out[r.pick(keys)] = value(r);
    else out[r.pick(FIELDS)] = value(r);
  }
  return out;
}

export function randomBytes(r: Rng, n: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, () => r.int(256));
}

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

// A JSON-ish document with invalid UTF-8 inside a string.
export function invalidUtf8Json(r: Rng): Uint8Array<ArrayBuffer> {
  const bad = r.pick(INVALID_UTF8);
  return Uint8Array.from([
    ...new TextEncoder().encode('{"text":"a'),
    ...bad,
    ...new TextEncoder().encode('","login":"x","password":"password1"}'),
  ]);
}

export type Body = { kind: string; data?: BodyInit; stream?: boolean };

export function body(path: string, r: Rng, ids: number[]): Body {
  const k = r.int(100);
  if (k < 30) return { kind: "mutated", data: JSON.stringify(mutate(validBody(path, r, ids), r)) };
  if (k < 45) return { kind: "value", data: JSON.stringify(value(r)) ?? "" };
  if (k < 55) return { kind: "valid", data: JSON.stringify(validBody(path, r, ids)) };
  if (k < 62) {
    const full = JSON.stringify(mutate(validBody(path, r, ids), r));
    return { kind: "truncated", data: full.slice(0, r.int(full.length)) };
  }
  if (k < 67) return { kind: "bytes", data: randomBytes(r, r.int(300)) };
  if (k < 72) return { kind: "invalid-utf8", data: invalidUtf8Json(r) };
  if (k < 77) {
    const n = r.pick([10, 1000, 40_000, 100_000]);
    const [open, close] = r.chance(0.5) ? ["[", "]"] : ['{"a":', "}"];
    return { kind: "deep", data: open.repeat(n) + "1" + close.repeat(r.chance(0.8) ? n : r.int(n)) };
  }
  if (k < 81)
    return {
      kind: "huge-number",
      data: r.pick([
        '{"id":' + "9".repeat(400) + "}",
        '{"users":[{"id":1e999}]}',
        '{"users":[{"id":-0}]}',
        "1".repeat(5000),
        '{"users":[{"id":9007199254740993}]}',
      ]),
    };
  if (k < 84)
    return {
      kind: "cut-by-limit",
      data: JSON.stringify({ login: "x", password: "p".repeat(r.pick([65_000, 66_000, 1_000_000])) }),
    };
  if (k < 85) return { kind: "10MB", data: JSON.stringify({ text: "x".repeat(10 * 1024 * 1024) }) };
  if (k < 88) return { kind: "chunked", data: JSON.stringify(mutate(validBody(path, r, ids), r)), stream: true };
  if (k < 91) return { kind: "chunked-big", data: "y".repeat(r.pick([70_000, 300_000])), stream: true };
  if (k < 95) return { kind: "array-for-object", data: JSON.stringify([validBody(path, r, ids)]) };
  return { kind: "empty", data: "" };
}

export function roomSegment(r: Rng, room: number): string {
  return r.pick([
    String(room),
    String(room),
    String(r.int(1000)),
    "0",
    "-1",
    "abc",
    "1.5",
    "1e3",
    "9".repeat(30),
    "%31",
    "%2e%2e",
    "１",
    encodeURIComponent(text(r, 6).toWellFormed()) || "x",
    String(2 ** 53 + 1),
    "0x10",
    " 1",
    "00001",
  ]);
}

export function query(r: Rng): string {
  const names = ["q", "before", "after", "limit", "events", "session_id", "", "limit[]", "%zz"];
  const values = () =>
    r.pick([
      "",
      "0",
      "-1",
      "1",
      "50",
      "201",
      "1e3",
      "abc",
      "9".repeat(40),
      "%",
      "%zz",
      "typing,gossip",
      "typing,presence,read",
      "\u0000",
      encodeURIComponent(text(r, 10).toWellFormed()),
      "a".repeat(r.int(3000)),
    ]);
  const n = r.int(4);
  if (n === 0) return "";
  return "?" + Array.from({ length: n }, () => `${r.pick(names)}=${values()}`).join("&");
}

// Raw request lines, for what fetch would normalize away.
export function rawPath(r: Rng, room: number): string {
  const bases = ["/v1/info", "/v1/rooms", `/v1/rooms/${room}`, `/v1/rooms/${room}/messages`, "/v1/users", "/v1/login"];
  const base = r.pick(bases);
  switch (r.int(12)) {
    case 0:
      return base + "/";
    case 1:
      return base.replace("/v1/", "/v1//");
    case 2:
      return "/" + base;
    case 3:
      return base.replace("/v1/", "/v1/../v1/");
    case 4:
      return base.replace("/v1/", "/v1/./");
    case 5:
      return base.replace(/[a-z]/, (c) => "%" + c.charCodeAt(0).toString(16));
    case 6:
      return base + "%00";
    case 7:
      return base + "/%zz";
    case 8:
      return "/" + "a/".repeat(1 + r.int(3000));
    case 9:
      return base + "?q=" + "a".repeat(r.pick([100, 8_000, 100_000]));
    case 10:
      return "/..%2f..%2fetc%2fpasswd";
    default:
      return base + query(r);
  }
}

// WebSocket frames: JSON-ish text, binary with invalid UTF-8, oversize (also by chance, from value()).
export function frame(r: Rng): { data: string | Uint8Array; oversize: boolean } {
  const f = anyFrame(r);
  const size = typeof f === "string" ? Buffer.byteLength(f) : f.length;
  return { data: f, oversize: size > 64 * 1024 };
}

function anyFrame(r: Rng): string | Uint8Array {
  const k = r.int(100);
  if (k < 35) {
    const f: Record<string, unknown> = { text: r.chance(0.8) ? text(r, 60) || "x" : value(r) };
    if (r.chance(0.5)) f.client_id = r.chance(0.8) ? `c${r.int(1e6)}` : value(r);
    if (r.chance(0.3)) f.type = r.pick(["message", "typing", "read", "dance", 5, null, ["message"]]);
    if (r.chance(0.2)) f.message_id = r.pick([...NUMBERS, "1", null]);
    return JSON.stringify(f);
  }
  if (k < 55) return JSON.stringify(value(r)) ?? "null";
  if (k < 65) return r.chance(0.5) ? invalidUtf8Json(r) : randomBytes(r, r.int(200));
  if (k < 72) return "[".repeat(r.pick([100, 10_000, 60_000]));
  if (k < 77) return '{"type":"read","message_id":' + r.pick(["1e999", "9".repeat(300), "-5", "1.5", '"7"']) + "}";
  if (k < 79) return JSON.stringify({ text: "x".repeat(70 * 1024) });
  if (k < 80) return JSON.stringify({ text: "x".repeat(10 * 1024 * 1024) });
  return text(r, 50);
}
