// Input rules, one function per kind of input. Each returns the clean value or throws ApiError.
import { ApiError } from "./errors.ts";
import { NOTIFY_LEVELS, type NotifyLevel } from "./store/store.ts";

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function requireString(body: Json, key: string): string {
  const v = body[key];
  if (typeof v !== "string") throw new ApiError("invalid_json", `"${key}" must be a string`);
  return v;
}

const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

// Lookup and uniqueness key: NFKC, default-ignorable code points removed, case-folded (upper then lower
// maps ς/σ, ß/ss and the like together), so `ａｄｍｉｎ`, `ADMIN` and `admin` are one login.
export function foldLogin(login: string): string {
  return login.normalize("NFKC").replace(IGNORABLE, "").toUpperCase().toLowerCase().normalize("NFKC");
}

// The fold of schema versions before 3, kept to tell apart old accounts that the new fold merges (a login
// that found an account before still finds it: lib/store/*/users.ts).
export function legacyFoldLogin(login: string): string {
  return login.normalize("NFC").toUpperCase().toLowerCase().normalize("NFC");
}

// The fold stored for an existing account (migration to schema 3): the first account (by id) with a fold
// keeps it; a later one the new fold merges with it is kept apart as fold + U+0001 + id, a key no new
// login can have, found by findUserByLogin when its old fold matches (pickLogin). New logins cannot take it.
export const LEGACY_MARK = "\u0001";
export const LEGACY_END = "\u0002"; // [fold, fold + LEGACY_END) holds the fold and every fold kept apart under it
export function storedFold(id: number, login: string, taken: Set<string>): string {
  const folded = foldLogin(login);
  if (!taken.has(folded)) return (taken.add(folded), folded);
  return `${folded}${LEGACY_MARK}${id}`;
}

// Among the rows under one fold (the fold's own and old accounts kept apart), the one whose old fold
// matches the typed login, else the fold's own account.
export function pickLogin<T extends { login: string; folded: string }>(rows: T[], folded: string, typed: string) {
  if (rows.length > 1) {
    const legacy = legacyFoldLogin(typed);
    const match = rows.find((r) => legacyFoldLogin(r.login) === legacy);
    if (match) return match;
  }
  return rows.find((r) => r.folded === folded) ?? null;
}

// Prefix search bounds: strings starting with q are those in [q, next) (code point order); null: no bound.
export function prefixEnd(q: string): string | null {
  const cps = [...q];
  while (cps.length) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) return cps.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return null;
}

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
// Invisible or unassignable: controls, format characters (bidi, zero-width), surrogates, private use,
// unassigned and noncharacters, line/paragraph separators, spaces other than U+0020, default-ignorables
// (soft hyphen, variation selectors, Hangul fillers), and blank-looking symbols.
const FORBIDDEN_IN_LOGIN =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800\uFFFC\uFFFD]|(?! )\p{Zs}/u;

// The scripts UAX #31 recommends for identifiers (Table 4); letters of other scripts are refused.
const SCRIPTS = [
  "Arabic",
  "Armenian",
  "Bengali",
  "Bopomofo",
  "Cyrillic",
  "Devanagari",
  "Ethiopic",
  "Georgian",
  "Greek",
  "Gujarati",
  "Gurmukhi",
  "Han",
  "Hangul",
  "Hebrew",
  "Hiragana",
  "Kannada",
  "Katakana",
  "Khmer",
  "Lao",
  "Latin",
  "Malayalam",
  "Myanmar",
  "Oriya",
  "Sinhala",
  "Tamil",
  "Telugu",
  "Thaana",
  "Thai",
  "Tibetan",
].map((name) => ({ name, re: new RegExp(`^\\p{Script_Extensions=${name}}$`, "u") }));
const ANY_SCRIPT = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;
// UTS #39 augmented script sets: Han is also Japanese, Korean and Han-with-Bopomofo writing, and so on.
const AUGMENT: Record<string, string[]> = {
  Han: ["Jpan", "Kore", "Hanb"],
  Hiragana: ["Jpan"],
  Katakana: ["Jpan"],
  Hangul: ["Kore"],
  Bopomofo: ["Hanb"],
};

// UTS #39 "moderately restrictive": one script, or Latin + Han + Hiragana/Katakana, Latin + Han + Bopomofo,
// Latin + Han + Hangul, or Latin + one other script but Cyrillic and Greek. Digits, punctuation and symbols
// (Script_Extensions Common or Inherited) go with any script. False: mixed, or a letter of no recommended script.
export function singleScriptLogin(login: string): boolean {
  let all: Set<string> | null = null; // resolved script set of every character
  let other: Set<string> | null = null; // ... of the characters that are not Latin
  for (const ch of login) {
    if (ANY_SCRIPT.test(ch)) continue;
    const set = new Set<string>();
    for (const { name, re } of SCRIPTS) {
      if (!re.test(ch)) continue;
      set.add(name);
      for (const a of AUGMENT[name] ?? []) set.add(a);
    }
    if (set.size === 0) return false;
    all = all ? all.intersection(set) : set;
    if (!set.has("Latin")) other = other ? other.intersection(set) : set;
  }
  if (!all || all.size > 0 || !other) return true;
  for (const s of other) if (s !== "Cyrillic" && s !== "Greek") return true; // Jpan, Kore, Hanb included
  return false;
}

export function validLogin(raw: string): string {
  const login = raw.normalize("NFC");
  const n = codePoints(login);
  if (n < 1 || n > 64 || login.trim() !== login || FORBIDDEN_IN_LOGIN.test(login) || !singleScriptLogin(login))
    throw new ApiError("invalid_login");
  return login;
}

export function validPassword(password: string): string {
  const n = codePoints(password);
  if (n < 8 || n > 1024) throw new ApiError("invalid_password");
  return password;
}

// Visible: anything but white space, controls, format characters, default-ignorables (zero-width, Hangul
// fillers, variation selectors) and the blank braille pattern. A text needs one visible character.
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]/u;

// Lone surrogates are refused: they cannot be stored as UTF-8, so history would return U+FFFD.
export function validText(text: unknown, maxLength: number): string {
  if (typeof text !== "string" || !text.isWellFormed() || !VISIBLE.test(text) || codePoints(text) > maxLength)
    throw new ApiError("invalid_text");
  return text;
}

export function validClientId(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v.length > 64 || !v.isWellFormed())
    throw new ApiError("invalid_json", "client_id must be a string of at most 64 characters, without lone surrogates");
  return v;
}

// A send's reply_to: absent (or null) for none, else a message id, a positive integer. Whether that message
// is a live one of the room is checked where the message is stored (message_not_found).
export function validReplyTo(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
    throw new ApiError("invalid_json", "reply_to must be a message id (a positive integer)");
  return v;
}

// A send's files: absent (or null, or []) for none, else at most MAX_FILES distinct file ids (public ids:
// 22 base64url characters). Whether they are the sender's unattached uploads to the room is checked where
// the message is stored; either way a bad list is invalid_files.
export const MAX_FILES = 10;
const FILE_ID = /^[A-Za-z0-9_-]{22}$/;
export function validFiles(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const ok =
    Array.isArray(v) &&
    v.length <= MAX_FILES &&
    v.every((id) => typeof id === "string" && FILE_ID.test(id)) &&
    new Set(v).size === v.length;
  if (!ok) throw new ApiError("invalid_files");
  return v as string[];
}

// A positive integer path id, else the room does not exist for this caller.
export function roomId(raw: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw new ApiError("room_not_found");
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new ApiError("room_not_found");
  return n;
}

// A non-negative integer cursor from a query string.
export function cursor(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ApiError("invalid_query", `${name} must be a non-negative integer`);
  }
  return Number(raw);
}

export function pageQuery(params: URLSearchParams) {
  const before = cursor(params.get("before"), "before");
  const after = cursor(params.get("after"), "after");
  if (before !== undefined && after !== undefined) throw new ApiError("invalid_query", "use before or after, not both");
  return { before, after, limit: limitParam(params, 50, 200) };
}

export function limitParam(params: URLSearchParams, def: number, max: number): number {
  const raw = params.get("limit");
  if (raw === null) return def;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new ApiError("invalid_query", `limit must be an integer from 1 to ${max}`);
  }
  return Number(raw);
}

// GET /v1/rooms: ?limit= and ?before=<last activity in ms>_<room id>, the cursor of a Link rel="next".
export const ROOM_PAGE = { default: 100, max: 200 };
export function roomPageQuery(params: URLSearchParams) {
  const limit = limitParam(params, ROOM_PAGE.default, ROOM_PAGE.max);
  const raw = params.get("before");
  if (raw === null) return { limit };
  const m = /^(\d{1,16})_(\d{1,16})$/.exec(raw);
  if (!m || !Number.isSafeInteger(Number(m[1])) || !Number.isSafeInteger(Number(m[2]))) {
    throw new ApiError("invalid_query", "before must be a cursor from a Link header, like 1700000000000_42");
  }
  return { limit, before: { activity: Number(m[1]), id: Number(m[2]) } };
}

// POST /v1/rooms entries: {id} or {login}. Returns ids to resolve and logins to look up.
export function roomUsers(body: Json): { ids: number[]; logins: string[] } {
  const users = body.users;
  if (!Array.isArray(users)) throw new ApiError("invalid_json", '"users" must be an array of objects');
  const ids: number[] = [];
  const logins: string[] = [];
  for (const entry of users) {
    if (!isObject(entry)) throw new ApiError("invalid_json", '"users" must be an array of objects');
    if (entry.id !== undefined) {
      if (typeof entry.id !== "number" || !Number.isSafeInteger(entry.id)) {
        throw new ApiError("invalid_json", "a user id must be an integer");
      }
      ids.push(entry.id);
    } else if (typeof entry.login === "string") {
      logins.push(entry.login);
    } else {
      throw new ApiError("invalid_json", "each user needs an integer id or a string login");
    }
  }
  return { ids, logins };
}

// Room names and topics (groups). A name: 1-100 code points, a visible one among them, no control
// characters; a topic: null, or up to 1000 code points without control characters but line breaks
// ("" is stored as null).
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_NEWLINE = /[^\P{Cc}\n]/u;
export function roomName(v: unknown): string {
  if (typeof v !== "string" || !v.isWellFormed() || !VISIBLE.test(v) || CONTROL.test(v) || codePoints(v) > 100)
    throw new ApiError("invalid_name");
  return v;
}
export function roomTopic(v: unknown): string | null {
  if (v === null || v === "") return null;
  if (typeof v !== "string" || !v.isWellFormed() || CONTROL_BUT_NEWLINE.test(v) || codePoints(v) > 1000)
    throw new ApiError("invalid_topic");
  return v;
}
// A notification level (PUT /v1/rooms/:id/settings).
export function notifyLevel(v: unknown): NotifyLevel {
  if (typeof v !== "string" || !(NOTIFY_LEVELS as readonly string[]).includes(v)) throw new ApiError("invalid_notify");
  return v as NotifyLevel;
}
// A room's retention: null (the server's), 0 (forever), or whole seconds from an hour to 100 years.
export const MIN_RETENTION = 3600;
export const MAX_RETENTION = 100 * 365 * 86400;
export function retentionSeconds(v: unknown): number | null {
  if (v === null || v === 0) return v;
  if (!Number.isSafeInteger(v) || (v as number) < MIN_RETENTION || (v as number) > MAX_RETENTION)
    throw new ApiError("invalid_retention");
  return v as number;
}
export function flag(v: unknown, key: string): boolean {
  if (typeof v !== "boolean") throw new ApiError("invalid_json", `"${key}" must be true or false`);
  return v;
}

// GET /v1/rooms/public: q (folded like logins), limit 1-200 (default 50), before=<room id>.
export function publicRoomsQuery(params: URLSearchParams) {
  const limit = limitParam(params, 50, ROOM_PAGE.max);
  const before = cursor(params.get("before"), "before");
  return { folded: foldLogin(params.get("q") ?? ""), limit, before: before === 0 ? undefined : before };
}

// A reaction: one extended grapheme cluster that is an emoji (pictographic, a flag's two regional
// indicators, or a keycap), from the URL-encoded path segment; at most 64 UTF-16 units (ZWJ sequences
// are long, but not that long).
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[0-9#*]\uFE0F?\u20E3)/u;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
export function validEmoji(raw: string): string {
  let emoji: string;
  try {
    emoji = decodeURIComponent(raw).normalize("NFC");
  } catch {
    throw new ApiError("invalid_emoji");
  }
  const clusters = [...graphemes.segment(emoji)];
  if (emoji.length > 64 || clusters.length !== 1 || !EMOJI.test(emoji)) throw new ApiError("invalid_emoji");
  return emoji;
}

// A positive integer path id of a message, else no such message.
export function messageId(raw: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new ApiError("message_not_found");
  return Number(raw);
}
