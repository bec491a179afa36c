// The one catalogue of error codes: code -> HTTP status and default message.
// Codes are part of the API contract: never rename one.
export const ERRORS = {
  invalid_json: [422, "Body is not a JSON object with the required fields"],
  invalid_login: [
    422,
    "Login must be 1-64 characters without surrounding spaces, invisible or private-use characters, in one script (Latin may join one other)",
  ],
  invalid_password: [422, "Password must be 8-1024 characters"],
  invalid_query: [422, "Query parameters are invalid"],
  invalid_text: [422, "Text must have a visible character and at most 4000 characters"],
  user_already_exists: [422, "This login is taken"],
  user_not_found: [422, "No such user"],
  wrong_credentials: [422, "Wrong password"],
  room_not_found: [422, "No such room"],
  session_not_found: [422, "No such session of yours"],
  invite_not_found: [422, "No such invite"],
  last_admin: [422, "The last admin cannot stop being one; make another admin first"],
  too_many_users: [422, "The room would have more members than a room may have"],
  not_a_group: [422, "Only a group's name and members change; this is a direct room"],
  invalid_name: [422, "A room name must be 1-100 characters with a visible one, without control characters"],
  invalid_topic: [422, "A topic must be null or at most 1000 characters, without control characters but line breaks"],
  too_many_rooms: [422, "A member of this room is already in the most rooms a user may be in"],
  unknown_type: [422, "Unknown frame type"],
  message_not_found: [422, "No such message in this room"],
  // message changes (reactions)
  invalid_emoji: [422, "A reaction is one emoji"],
  too_many_reactions: [422, "A message has at most 20 different reactions"],
  // files
  invalid_file_name: [422, "A file name must keep a character once path separators and control characters go"],
  invalid_files: [422, "files must be at most 10 of your uploads to this room that no message has yet"],
  quota_exceeded: [422, "Your files would take more than your storage quota"],
  // room settings
  invalid_notify: [422, 'notify must be "all", "mentions" or "none"'],
  invalid_retention: [422, "retention must be null, 0 (keep forever) or whole seconds from 3600 to 3153600000"],
  // push subscriptions
  invalid_subscription: [422, "Expected a PushSubscription: {endpoint, keys: {p256dh, auth}}, with valid keys"],
  invalid_endpoint: [422, "The push endpoint must be an https: URL on a public host"],
  unauthorized: [401, "Session is missing, unknown or expired"],
  forbidden_origin: [403, "Requests from this web page's origin are not allowed"],
  forbidden: [403, "Only admins may do this"],
  invite_required: [403, "Registration needs an invite code"],
  invalid_invite: [403, "This invite is unknown, expired, revoked or used up"],
  registration_closed: [403, "Registration is closed"],
  account_disabled: [403, "This account is disabled"],
  not_found: [404, "No such endpoint"],
  file_not_found: [404, "No such file, or its link expired"],
  method_not_allowed: [405, "Method not allowed on this endpoint"],
  payload_too_large: [413, "Body is larger than 64 KiB"],
  range_not_satisfiable: [416, "The range is outside the file"],
  upgrade_required: [426, "This endpoint is a WebSocket: connect with an Upgrade request"],
  rate_limited: [429, "Too many requests, try again later"],
  internal_error: [500, "Internal server error"],
  unavailable: [503, "Service temporarily unavailable"],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message ?? ERRORS[code][1]);
  }
  get status(): number {
    return ERRORS[this.code][0];
  }
}

export function errorBody(code: ErrorCode, message: string = ERRORS[code][1]) {
  return { error: { code, message } };
}

// WebSocket close codes. 1000-1015 are the protocol's; 4000-4999 are ours.
// "reconnect" says whether a client should reconnect (with ?after=) after it.
export const CLOSE = {
  shutdown: { code: 1001, reason: "server shutting down", reconnect: true },
  tooBig: { code: 1009, reason: "frame too large", reconnect: true },
  slowConsumer: { code: 1013, reason: "try again later", reconnect: true },
  // Logout, password change, a session ended by id, the account disabled or deleted.
  loggedOut: { code: 4001, reason: "logged out", reconnect: false },
  // The room+user kick: the user left or was removed from the room (docs/api.md).
  removed: { code: 4003, reason: "removed from room", reconnect: false },
} as const;
