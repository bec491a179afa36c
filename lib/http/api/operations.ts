// Every REST operation of the route table in server.ts, one entry each: a new endpoint is one entry here
// and one line there (test/spec.test.ts fails when the two disagree). openapi.ts builds the document
// from this table; the statuses of the error codes come from the catalogue in errors.ts.
import type { ErrorCode } from "../../errors.ts";
import { ROOM_PAGE } from "../../validate.ts";
import { ADMIN_USER_PAGE } from "../admin.ts";
import { SEARCH_PAGE } from "../search.ts";
import { ref, type Schema, type SchemaName } from "./schemas.ts";

export type Param = { name: string; in: "query" | "path"; description: string; schema: Schema; required?: boolean };
export type Operation = {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string; // OpenAPI form: /v1/rooms/{id}
  aliases?: string[]; // other route-table paths served by the same handler
  summary: string;
  description?: string;
  tag:
    | "accounts"
    | "sessions"
    | "push"
    | "invites"
    | "admin"
    | "users"
    | "rooms"
    | "messages"
    | "realtime"
    | "operations"
    | "documents"
    | "web";
  // session: X-Session-Id or Authorization: Bearer (401 unauthorized without); socket: also ?session_id=
  auth: "session" | "socket" | "none";
  params?: Param[];
  body?: SchemaName;
  rawBody?: { type: string; description: string }; // a body that is not JSON (an upload's bytes)
  pathParams?: Record<string, Omit<Param, "name" | "in">>; // path parameters that are not positive integers
  more?: { status: number; description: string; type?: string }[]; // other successful answers (206, 304)
  ok: { status: number; description: string; body?: SchemaName | Schema; type?: string; link?: boolean };
  errors?: ErrorCode[]; // besides the ones every operation of its kind has (see openapi.ts)
  retryAfter?: boolean; // 429 and 503 may carry Retry-After (seconds)
};

const query = (name: string, description: string, schema: Schema): Param => ({
  name,
  in: "query",
  description,
  schema,
});
const cursor = (name: string, description: string) => query(name, description, { type: "integer", minimum: 0 });
const limit = (def: number, max: number) =>
  query("limit", `page size, 1-${max} (default ${def})`, { type: "integer", minimum: 1, maximum: max, default: def });
const array = (name: SchemaName): Schema => ({ type: "array", items: ref(name) });

export const OPERATIONS: Operation[] = [
  {
    method: "POST",
    path: "/v1/register",
    summary: "Register a user and log in",
    description:
      "Answers 200 (as the seed), not 201. With --registration invite an invite code is needed; closed " +
      "accepts only the first-admin setup link. An invite is checked before the login, so a bad one never " +
      "tells whether a login is taken.",
    tag: "accounts",
    auth: "none",
    body: "Registration",
    ok: { status: 200, description: "the new user's session", body: "Session" },
    errors: [
      "invalid_json",
      "invite_required",
      "invalid_invite",
      "registration_closed",
      "invalid_login",
      "invalid_password",
      "user_already_exists",
      "rate_limited",
    ],
    retryAfter: true,
  },
  {
    method: "POST",
    path: "/v1/login",
    summary: "Log in: a new session",
    tag: "accounts",
    auth: "none",
    body: "Credentials",
    ok: { status: 200, description: "a new session; other sessions stay", body: "Session" },
    description: "account_disabled only after the password was verified: it tells a guesser nothing.",
    errors: ["invalid_json", "user_not_found", "wrong_credentials", "account_disabled", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "POST",
    path: "/v1/logout",
    summary: "End this session",
    description: "The body is ignored. The session's open WebSockets are closed with 4001.",
    tag: "accounts",
    auth: "session",
    ok: { status: 200, description: "the session ended", body: "Empty" },
  },
  {
    method: "POST",
    path: "/v1/password",
    summary: "Change the password, ending every other session",
    tag: "accounts",
    auth: "session",
    body: "PasswordChange",
    ok: { status: 200, description: "changed; the calling session stays", body: "Empty" },
    errors: ["invalid_json", "invalid_password", "wrong_credentials", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "GET",
    path: "/v1/info",
    summary: "Who the session belongs to",
    tag: "accounts",
    auth: "session",
    ok: { status: 200, description: "the caller, and whether they are a server admin", body: "Me" },
  },
  {
    method: "GET",
    path: "/v1/push/key",
    summary: "The server's VAPID public key",
    description: "Browsers subscribe with it (applicationServerKey). Made at first start, the same on every instance.",
    tag: "push",
    auth: "session",
    ok: { status: 200, description: "the raw uncompressed P-256 public key, base64url", body: "PushKey" },
  },
  {
    method: "POST",
    path: "/v1/push/subscriptions",
    summary: "Register a browser's push subscription for this session",
    description:
      "The same endpoint again replaces it. A user keeps at most 10: one more drops the oldest. Removed with the " +
      "session (logout, password change for the other sessions, disabling or deleting the user, ending it).",
    tag: "push",
    auth: "session",
    body: "PushSubscription",
    ok: { status: 200, description: "registered", body: "Empty" },
    errors: ["invalid_json", "invalid_subscription", "invalid_endpoint"],
  },
  {
    method: "DELETE",
    path: "/v1/push/subscriptions",
    summary: "Remove one of the caller's push subscriptions",
    description: "Idempotent: an endpoint the caller does not have answers 200 too.",
    tag: "push",
    auth: "session",
    body: "PushEndpoint",
    ok: { status: 200, description: "removed, or was not there", body: "Empty" },
    errors: ["invalid_json", "invalid_subscription"],
  },
  {
    method: "GET",
    path: "/v1/sessions",
    summary: "The caller's sessions (devices)",
    tag: "sessions",
    auth: "session",
    ok: { status: 200, description: "newest first", body: array("SessionInfo") },
  },
  {
    method: "DELETE",
    path: "/v1/sessions/{id}",
    summary: "End one of the caller's sessions",
    description: "Its open WebSockets close with 4001, on every instance.",
    tag: "sessions",
    auth: "session",
    ok: { status: 200, description: "ended", body: "Empty" },
    errors: ["session_not_found"],
  },
  {
    method: "POST",
    path: "/v1/invites",
    summary: "Make an invite link (admins)",
    tag: "invites",
    auth: "session",
    body: "InviteRequest",
    ok: { status: 200, description: "the invite, with its code shown this once", body: "NewInvite" },
    errors: ["forbidden", "invalid_json", "room_not_found"],
  },
  {
    method: "GET",
    path: "/v1/invites",
    summary: "Live invites (admins), never their codes",
    tag: "invites",
    auth: "session",
    ok: { status: 200, description: "newest first", body: array("Invite") },
    errors: ["forbidden"],
  },
  {
    method: "DELETE",
    path: "/v1/invites/{code}",
    summary: "Revoke an invite (admins), by its code or its id",
    tag: "invites",
    auth: "session",
    ok: { status: 200, description: "revoked", body: "Empty" },
    errors: ["forbidden", "invite_not_found"],
  },
  {
    method: "GET",
    path: "/v1/admin/users",
    summary: "List and search users (admins)",
    tag: "admin",
    auth: "session",
    params: [
      query("q", "substring of the folded login", { type: "string" }),
      limit(ADMIN_USER_PAGE.default, ADMIN_USER_PAGE.max),
      cursor("before", "the page after this user id (newest first)"),
    ],
    ok: { status: 200, description: "accounts, newest first", body: array("Account") },
    errors: ["forbidden", "invalid_query"],
  },
  {
    method: "PATCH",
    path: "/v1/admin/users/{id}",
    summary: "Disable or enable a user, make or unmake an admin (admins)",
    description: "Disabling ends every session of the user; their sockets close with 4001 on every instance.",
    tag: "admin",
    auth: "session",
    body: "AccountChange",
    ok: { status: 200, description: "the account", body: "Account" },
    errors: ["forbidden", "invalid_json", "user_not_found", "last_admin"],
  },
  {
    method: "DELETE",
    path: "/v1/admin/users/{id}",
    summary: "Delete a user (admins): messages stay, under the login deleted-<id>",
    tag: "admin",
    auth: "session",
    ok: { status: 200, description: "deleted", body: "Empty" },
    errors: ["forbidden", "user_not_found", "last_admin"],
  },
  {
    method: "GET",
    path: "/v1/users",
    aliases: ["/v1/users/"],
    summary: "Search users by login",
    description: "Also served at `/v1/users/` (the seed's path, with its trailing slash). At most 50 users.",
    tag: "users",
    auth: "session",
    params: [query("q", "substring of the folded login; empty or absent gives []", { type: "string" })],
    ok: { status: 200, description: "matching users, the exact match first", body: array("User") },
    errors: ["rate_limited"],
    retryAfter: true,
  },
  {
    method: "GET",
    path: "/v1/rooms",
    summary: "List the caller's rooms, most recent activity first",
    tag: "rooms",
    auth: "session",
    params: [
      limit(ROOM_PAGE.default, ROOM_PAGE.max),
      query("before", "cursor from the Link header: <last activity in ms>_<room id>", {
        type: "string",
        pattern: "^\\d{1,16}_\\d{1,16}$",
      }),
    ],
    ok: { status: 200, description: "a page of rooms", body: array("RoomSummary"), link: true },
    errors: ["invalid_query"],
  },
  {
    method: "POST",
    path: "/v1/rooms",
    summary: "Create a room, or find the one with exactly these members; with a name, create a group",
    tag: "rooms",
    auth: "session",
    body: "NewRoom",
    ok: { status: 200, description: "the room, new or existing", body: "Room" },
    errors: [
      "invalid_json",
      "invalid_name",
      "invalid_topic",
      "user_not_found",
      "too_many_users",
      "too_many_rooms",
      "rate_limited",
    ],
    retryAfter: true,
  },
  {
    method: "GET",
    path: "/v1/rooms/public",
    summary: "The directory of public groups, newest first",
    tag: "rooms",
    auth: "session",
    params: [
      query("q", "substring of the folded name", { type: "string" }),
      limit(50, ROOM_PAGE.max),
      cursor("before", "the page after this room id (from the Link header)"),
    ],
    ok: { status: 200, description: "public groups", body: array("PublicRoom"), link: true },
    errors: ["invalid_query"],
  },
  {
    method: "PATCH",
    path: "/v1/rooms/{id}",
    summary: "Change a group's name, topic or visibility (its owner or an admin)",
    tag: "rooms",
    auth: "session",
    body: "RoomChange",
    ok: { status: 200, description: "the room after the change", body: "Room" },
    errors: ["room_not_found", "not_a_group", "forbidden", "invalid_json", "invalid_name", "invalid_topic"],
  },
  {
    method: "POST",
    path: "/v1/rooms/{id}/users",
    summary: "Add people to a group (any member)",
    tag: "rooms",
    auth: "session",
    body: "MemberList",
    ok: { status: 200, description: "the room after the change", body: "Room" },
    errors: ["room_not_found", "not_a_group", "invalid_json", "user_not_found", "too_many_users", "too_many_rooms"],
  },
  {
    method: "DELETE",
    path: "/v1/rooms/{id}/users/{user_id}",
    summary: "Leave a group (your own id) or remove a member (its owner or an admin)",
    description: "The user's room sockets close with 4003 on every instance.",
    tag: "rooms",
    auth: "session",
    ok: { status: 200, description: "{} when the caller left, else the room", body: "RoomOrEmpty" },
    errors: ["room_not_found", "not_a_group", "forbidden", "user_not_found"],
  },
  {
    method: "PUT",
    path: "/v1/rooms/{id}/settings",
    summary: "Set your own settings in a room (its notification level) and the room's retention",
    description:
      "notify is only the caller's: other members never see it, and every user stream of the caller, on every " +
      "instance, gets a settings frame. retention is the room's, set by its owner or an admin (forbidden " +
      "otherwise; in a direct room an admin only); a change is a room frame in the room's order. The keys are " +
      "independent; at least one is given.",
    tag: "rooms",
    auth: "session",
    body: "RoomSettingsChange",
    ok: {
      status: 200,
      description: "the caller's settings in the room and the room's retention after the change",
      body: "RoomSettings",
    },
    errors: ["room_not_found", "invalid_json", "invalid_notify", "invalid_retention", "forbidden"],
  },
  {
    method: "POST",
    path: "/v1/rooms/{id}/join",
    summary: "Join a public group",
    description: "Any room that is not a public group answers room_not_found, revealing nothing.",
    tag: "rooms",
    auth: "session",
    ok: { status: 200, description: "the room", body: "Room" },
    errors: ["room_not_found", "too_many_users", "too_many_rooms"],
  },
  {
    method: "GET",
    path: "/v1/rooms/{id}",
    summary: "Show one of the caller's rooms",
    tag: "rooms",
    auth: "session",
    ok: { status: 200, description: "the room", body: "Room" },
    errors: ["room_not_found"],
  },
  {
    method: "GET",
    path: "/v1/rooms/{id}/messages",
    summary: "A page of a room's history, oldest first",
    tag: "messages",
    auth: "session",
    params: [
      limit(50, 200),
      cursor("before", "the page just older than this id"),
      cursor("after", "the oldest messages with a larger id (not with before)"),
    ],
    ok: { status: 200, description: "messages, oldest first", body: array("Message") },
    errors: ["room_not_found", "invalid_query"],
  },
  {
    method: "PATCH",
    path: "/v1/rooms/{id}/messages/{message_id}",
    summary: "Edit your message",
    description:
      "The author only. The same text answers 200 with nothing changed; mentions are found anew. An edit " +
      "event goes to room sockets with events=changes and every member's user stream.",
    tag: "messages",
    auth: "session",
    body: "MessageEdit",
    ok: { status: 200, description: "the message", body: "Message" },
    errors: ["room_not_found", "message_not_found", "forbidden", "invalid_text", "invalid_json", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "DELETE",
    path: "/v1/rooms/{id}/messages/{message_id}",
    summary: "Delete a message: its text and every earlier version are erased",
    description:
      "The author, the group's owner, or a server admin (even one not in the room). History no longer " +
      "returns it and its id is not reused; a delete event goes out in the room's order.",
    tag: "messages",
    auth: "session",
    ok: { status: 200, description: "{}", body: "Empty" },
    errors: ["room_not_found", "message_not_found", "forbidden"],
  },
  {
    method: "PUT",
    path: "/v1/rooms/{id}/messages/{message_id}/reactions/{emoji}",
    summary: "React to a message with an emoji (idempotent)",
    description: "emoji: one emoji, URL-encoded. At most 20 different emoji on a message.",
    tag: "messages",
    auth: "session",
    ok: { status: 200, description: "the message's reactions after it", body: "Reactions" },
    errors: ["room_not_found", "message_not_found", "invalid_emoji", "too_many_reactions", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "DELETE",
    path: "/v1/rooms/{id}/messages/{message_id}/reactions/{emoji}",
    summary: "Take your reaction back (idempotent)",
    tag: "messages",
    auth: "session",
    ok: { status: 200, description: "the message's reactions after it", body: "Reactions" },
    errors: ["room_not_found", "message_not_found", "invalid_emoji", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "GET",
    path: "/v1/search",
    summary: "Full-text search over the messages of the caller's rooms",
    description:
      "Words (all must match), prefixes (prog*) and phrases in double quotes, case- and diacritics-insensitive. " +
      "Only rooms the caller is a member of now; deleted messages never. Newest first, or by relevance with " +
      "order=rank. One request reads at most the newest --search-scan (10,000) matches of any room below the " +
      "cursor: a page may be short, even empty, and still have a next. Shares the user-search rate limit.",
    tag: "messages",
    auth: "session",
    params: [
      {
        ...query("q", "the query: at most 500 characters, 10 terms, 20 words", { type: "string", minLength: 1 }),
        required: true,
      },
      query("room_id", "only this room (one the caller is a member of)", { type: "integer", minimum: 1 }),
      query("order", "newest (default) or rank", { enum: ["newest", "rank"], default: "newest" }),
      limit(SEARCH_PAGE.default, SEARCH_PAGE.max),
      query("before", "the next of the previous page (newest first: a message id)", { type: "string" }),
    ],
    ok: { status: 200, description: "matching messages with highlights", body: "SearchResults" },
    errors: ["invalid_query", "room_not_found", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "POST",
    path: "/v1/rooms/{id}/files",
    summary: "Upload a file to a room (the raw bytes as the body)",
    description:
      "Members only. The body is the file itself, its Content-Type the file's type (else " +
      "application/octet-stream); it streams to the storage. Past --max-file-size (25 MiB) it answers 413 without " +
      "reading the rest; past the uploader's --file-quota (1 GiB, attached or not) 422 quota_exceeded. A message " +
      'attaches it with "files": [id] (within 24 hours, else it is removed). width and height for PNG, JPEG, GIF ' +
      "and WebP, read from the header bytes.",
    tag: "messages",
    auth: "session",
    params: [
      {
        ...query("name", "the file's name: sanitized, at most 255 bytes", { type: "string", minLength: 1 }),
        required: true,
      },
    ],
    rawBody: { type: "application/octet-stream", description: "the file's bytes (any Content-Type)" },
    ok: { status: 200, description: "the stored file, with a signed URL", body: "File" },
    errors: ["invalid_file_name", "room_not_found", "quota_exceeded", "rate_limited"],
    retryAfter: true,
  },
  {
    method: "GET",
    path: "/v1/files/{id}/{name}",
    summary: "Download a file: by its signed URL (no headers needed) or with the session",
    description:
      "The url of a file in a message or an upload's answer. A member's session works too (no query). An " +
      "expired or altered signature, a removed member's URL, and a file that is gone answer 404 file_not_found. " +
      "One byte range (206, 416 outside the file), ETag and If-None-Match (304), Cache-Control: private, " +
      "X-Content-Type-Options: nosniff, Content-Security-Policy: sandbox; Content-Disposition inline only for " +
      "PNG, JPEG, GIF, WebP, MP4, WebM, MP3, Ogg and PDF, else attachment.",
    tag: "messages",
    auth: "none",
    pathParams: {
      id: { description: "the file's id", schema: { type: "string" } },
      name: { description: "its name (any: the URL's last part names the download)", schema: { type: "string" } },
    },
    params: [
      query("expires", "the signed URL's expiry, Unix seconds", { type: "integer" }),
      query("sig", "the signature", { type: "string" }),
    ],
    ok: { status: 200, description: "the file's bytes", type: "*/*", body: { type: "string", format: "binary" } },
    more: [
      { status: 206, description: "the range asked for (Content-Range)", type: "*/*" },
      { status: 304, description: "not modified (If-None-Match matched the ETag)" },
    ],
    errors: ["file_not_found", "range_not_satisfiable", "unauthorized"],
  },
  {
    method: "GET",
    path: "/v1/rooms/{id}/chat",
    summary: "Open the room's WebSocket (see /v1/asyncapi.json)",
    description: "Everything is checked before the upgrade; a refusal is a JSON error. 429 has no Retry-After.",
    tag: "realtime",
    auth: "socket",
    params: [
      cursor(
        "after",
        "resume: every stored message with a larger id first (with events=members or changes: frames after this seq)",
      ),
      query("events", "opt-in events, comma-separated: typing, presence, read, members, changes", {
        type: "string",
        pattern: "^((typing|presence|read|members|changes)(,(typing|presence|read|members|changes))*)?$",
      }),
    ],
    ok: { status: 101, description: "Switching Protocols: the room socket" },
    errors: ["room_not_found", "invalid_query", "upgrade_required", "rate_limited"],
  },
  {
    method: "GET",
    path: "/v1/stream",
    summary: "Open the user stream: one WebSocket over all the caller's rooms (see /v1/asyncapi.json)",
    description:
      'The server says hello; the first frame is {"type":"resume","rooms":{…}}; then what was missed, "synced", ' +
      "and every durable frame of the user's rooms live. 429 has no Retry-After.",
    tag: "realtime",
    auth: "socket",
    ok: { status: 101, description: "Switching Protocols: the user stream" },
    errors: ["upgrade_required", "rate_limited"],
  },
  {
    method: "GET",
    path: "/v1/openapi.json",
    summary: "This document",
    tag: "documents",
    auth: "none",
    ok: { status: 200, description: "OpenAPI 3.1", body: "Document" },
  },
  {
    method: "GET",
    path: "/v1/asyncapi.json",
    summary: "The WebSocket's AsyncAPI 3.0 document",
    tag: "documents",
    auth: "none",
    ok: { status: 200, description: "AsyncAPI 3.0", body: "Document" },
  },
  {
    method: "GET",
    path: "/healthz",
    summary: "Liveness",
    tag: "operations",
    auth: "none",
    ok: { status: 200, description: "the process serves", body: "Health" },
  },
  {
    method: "GET",
    path: "/readyz",
    summary: "Readiness: the database answers",
    tag: "operations",
    auth: "none",
    ok: { status: 200, description: "ready", body: "Ready" },
    errors: ["unavailable"],
  },
  {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics",
    tag: "operations",
    auth: "none",
    ok: { status: 200, description: "Prometheus text format 0.0.4", type: "text/plain", body: { type: "string" } },
  },
  {
    method: "GET",
    path: "/",
    aliases: ["/index.html"],
    summary: "The built-in web client",
    description: "Also served at `/index.html`; its script and style are served beside it.",
    tag: "web",
    auth: "none",
    ok: { status: 200, description: "the page", type: "text/html", body: { type: "string" } },
  },
  {
    method: "GET",
    path: "/sw.js",
    summary: "The web client's service worker",
    description:
      "Scope `/`: shows Web Push notifications and opens their room on a click. `Cache-Control: no-cache`, " +
      "so browsers fetch it again when they check for an update.",
    tag: "web",
    auth: "none",
    ok: { status: 200, description: "the script", type: "text/javascript", body: { type: "string" } },
  },
];
