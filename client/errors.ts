// Errors the client throws. ApiError: the server answered with its documented error body. NetworkError: no
// answer, or one that is not the API's (a proxy's HTML page, say).

// Every code in docs/api.md (the server's lib/errors.ts; test/client.test.ts keeps the two lists equal).
export const ERROR_CODES = [
  "invalid_json",
  "invalid_login",
  "invalid_password",
  "invalid_query",
  "invalid_text",
  "user_already_exists",
  "user_not_found",
  "wrong_credentials",
  "room_not_found",
  "session_not_found",
  "invite_not_found",
  "last_admin",
  "too_many_users",
  "too_many_rooms",
  "not_a_group",
  "invalid_name",
  "invalid_topic",
  "unknown_type",
  "message_not_found",
  "invalid_emoji",
  "too_many_reactions",
  "invalid_file_name",
  "invalid_files",
  "quota_exceeded",
  "invalid_notify",
  "invalid_retention",
  "invalid_subscription",
  "invalid_endpoint",
  "unauthorized",
  "forbidden_origin",
  "forbidden",
  "invite_required",
  "invalid_invite",
  "registration_closed",
  "account_disabled",
  "not_found",
  "file_not_found",
  "method_not_allowed",
  "payload_too_large",
  "range_not_satisfiable",
  "upgrade_required",
  "rate_limited",
  "internal_error",
  "unavailable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

// status: the HTTP status, or 0 for an error frame on a socket. retryAfter: seconds, from Retry-After.
// A server newer than this client may send a code not in ErrorCode: switch with a default branch.
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export class NetworkError extends Error {
  override readonly name = "NetworkError";
  constructor(
    message = "Cannot reach the server. Check the connection and try again.",
    readonly status = 0, // the HTTP status when an answer came that is not the API's
  ) {
    super(message);
  }
}

// A socket ended for good with sends still unacknowledged: each is rejected with this. code: the close code
// (4001 logged out ...), 1000 when the app closed it, 0 when the check before a reconnect failed (error).
export class SocketClosed extends Error {
  override readonly name = "SocketClosed";
  readonly code: number;
  readonly error?: Error;
  constructor(end: { code: number; reason: string; error?: Error }) {
    super(end.reason || `closed with ${end.code}`);
    this.code = end.code;
    this.error = end.error;
  }
}

// The body of an API error, or undefined when the body is something else.
export function errorOf(body: unknown): { code: ErrorCode; message: string } | undefined {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!e || typeof e.code !== "string") return undefined;
  return { code: e.code as ErrorCode, message: typeof e.message === "string" ? e.message : e.code };
}

// Retry-After in seconds: a number of seconds or an HTTP date.
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
