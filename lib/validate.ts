// Input rules, one function per kind of input. Each returns the clean value or throws ApiError.
import { ApiError } from "./errors.ts";

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

// Case-insensitive in every script: upper then lower maps ς/σ, ß/ss and the like together.
export function foldLogin(login: string): string {
  return login.normalize("NFC").toUpperCase().toLowerCase().normalize("NFC");
}

const FORBIDDEN_IN_LOGIN = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\uFFFD]/u;

export function validLogin(raw: string): string {
  const login = raw.normalize("NFC");
  const n = codePoints(login);
  if (n < 1 || n > 64 || login.trim() !== login || FORBIDDEN_IN_LOGIN.test(login)) throw new ApiError("invalid_login");
  return login;
}

export function validPassword(password: string): string {
  const n = codePoints(password);
  if (n < 8 || n > 1024) throw new ApiError("invalid_password");
  return password;
}

export function validText(text: unknown, maxLength: number): string {
  if (typeof text !== "string" || text.trim() === "" || codePoints(text) > maxLength)
    throw new ApiError("invalid_text");
  return text;
}

export function validClientId(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v.length > 64)
    throw new ApiError("invalid_json", "client_id must be a string of at most 64 characters");
  return v;
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

function limitParam(params: URLSearchParams, def: number, max: number): number {
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
