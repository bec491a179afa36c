// The JSON Schemas of every API body and WebSocket frame: the one source of truth that openapi.ts and
// asyncapi.ts put into the two documents (under components.schemas) and the suite validates against.
// Response shapes are strict (additionalProperties: false): a field the server adds must be added here.
// Request shapes are open, as the server accepts extra keys.
import type { ErrorCode } from "../../errors.ts";

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

const id = { type: "integer", minimum: 1 };
const strict = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

// The error body, its code limited to those one route or frame can answer.
export function errorSchema(codes: readonly ErrorCode[]): Schema {
  return strict({ error: strict({ code: { type: "string", enum: [...codes] }, message: { type: "string" } }) });
}

const time = { type: "string", format: "date-time", pattern: "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$" };
const orNull = (schema: Schema): Schema => ({ oneOf: [schema, { type: "null" }] });
const publicId = { type: "string", pattern: "^[0-9a-f]{32}$", description: "a public identifier, never the secret" };

// A message's reactions: emoji in first-reaction order, each with its users in reaction order.
const reactionList = {
  type: "array",
  minItems: 1,
  items: strict({
    emoji: { type: "string", minLength: 1 },
    user_ids: { type: "array", items: id, minItems: 1 },
  }),
};
// A file as the upload answers it and messages carry it.
const fileSchema = strict(
  {
    id: { type: "string", pattern: "^[A-Za-z0-9_-]{22,}$", description: "the file's public id (random)" },
    name: { type: "string", minLength: 1, description: "sanitized: no path separators, control or bidi characters" },
    type: { type: "string", description: "the Content-Type it was uploaded with (type/subtype)" },
    size: { type: "integer", minimum: 0 },
    url: {
      type: "string",
      pattern: "^/v1/files/",
      description: "a signed URL, relative to the server, valid about an hour (docs/api.md); fetch it without headers",
    },
    width: { type: "integer", minimum: 1, description: "PNG, JPEG, GIF and WebP only" },
    height: { type: "integer", minimum: 1, description: "PNG, JPEG, GIF and WebP only" },
  },
  ["id", "name", "type", "size", "url"],
);

const messageProps = {
  id,
  text: { type: "string" },
  user_id: id,
  room_id: id,
  created_at: time,
  client_id: { type: "string", maxLength: 64, description: "present when the sender gave one" },
  seq: { type: "integer", minimum: 1, description: "the message's place in the room's order" },
  reply_to: { ...id, description: "present when it answers a message of the same room: that message's id" },
  mentions: {
    type: "array",
    items: id,
    minItems: 1,
    description: "present when its text mentions members (@login): their ids, in order of first mention",
  },
  edited_at: { ...time, description: "present when it was edited: the last edit" },
  reactions: reactionList,
  deleted: { const: true, description: "only in a replayed edit event: the message was deleted since (text '')" },
  files: {
    type: "array",
    items: fileSchema,
    minItems: 1,
    maxItems: 10,
    description: "present when it carries files, in the order sent; each url freshly signed for this read",
  },
};
const messageRequired = ["id", "text", "user_id", "room_id", "created_at", "seq"];

const userSchema = strict({ id, login: { type: "string", minLength: 1 } });
const roomName = { type: "string", minLength: 1, maxLength: 100 };
const roomTopic = { type: "string", maxLength: 1000 };
const notify = {
  type: "string",
  enum: ["all", "mentions", "none"],
  description: "notification level: every message, those that mention you, or none",
};
// The room object's fields besides users (issue 15): direct rooms have no name, topic or owner.
const roomProps = {
  name: orNull(roomName),
  topic: orNull(roomTopic),
  kind: { enum: ["direct", "group"], description: "direct: one per member set, fixed; group: named, members change" },
  public: { type: "boolean", description: "a group listed in GET /v1/rooms/public that anyone may join" },
  owner_id: orNull(id),
  seq: { type: "integer", minimum: 1, description: "the room's newest seq (its order: messages and changes)" },
  retention: orNull({
    type: "integer",
    minimum: 0,
    description: "seconds after which the room's messages are deleted; 0: kept forever; null: the server's --retention",
  }),
};
// by: absent on a user stream's "room" for a room the user was added to (or joined while away).
const roomChangeFrame = strict(
  {
    type: { const: "room" },
    room_id: id,
    seq: { type: "integer", minimum: 1 },
    room: strict({ id, users: { type: "array", items: userSchema, description: "join order" }, ...roomProps }),
    by: id,
  },
  ["type", "room_id", "seq", "room"],
);
const membersFrame = strict({
  type: { const: "members" },
  room_id: id,
  seq: { type: "integer", minimum: 1 },
  users: { type: "array", items: userSchema, description: "the members after the change, join order" },
  added: { type: "array", items: id },
  removed: { type: "array", items: id },
  by: id,
});

// Message changes, durable frames in the room's order (events=changes, the user stream).
const messageChangeFrames = {
  EditFrame: strict({
    type: { const: "edit" },
    room_id: id,
    seq: { type: "integer", minimum: 1 },
    message: strict(messageProps, messageRequired),
  }),
  DeleteFrame: strict({ type: { const: "delete" }, room_id: id, seq: { type: "integer", minimum: 1 }, message_id: id }),
  ReactionFrame: strict({
    type: { const: "reaction" },
    room_id: id,
    seq: { type: "integer", minimum: 1 },
    message_id: id,
    reactions: { type: "array", items: reactionList.items, description: "the list after the change ([]: none)" },
  }),
};

// Codes a room socket's error frame may carry.
export const FRAME_ERRORS = [
  "invalid_json",
  "invalid_text",
  "unknown_type",
  "rate_limited",
  "internal_error",
  "unavailable",
  "room_not_found",
  "message_not_found",
  "invalid_files",
] as const satisfies readonly ErrorCode[];

// Bodies of REST requests and responses (OpenAPI's components.schemas).
export const REST_SCHEMAS = {
  User: strict({ id, login: { type: "string", minLength: 1 } }),
  Me: strict({ id, login: { type: "string", minLength: 1 }, admin: { type: "boolean" } }),
  Session: strict(
    {
      session_id: { type: "string", pattern: "^[0-9a-f]{40}$" },
      room_id: { ...id, description: "register only: the room an invite made the new user join" },
    },
    ["session_id"],
  ),
  SessionInfo: strict({
    id: publicId,
    created_at: time,
    last_used_at: time,
    user_agent: orNull({ type: "string", maxLength: 256 }),
    address: orNull({ type: "string" }),
    current: { type: "boolean", description: "the session making this call" },
  }),
  NewInvite: strict({
    id: publicId,
    code: { type: "string", pattern: "^[A-Za-z0-9_-]{24}$", description: "shown only now" },
    url: { type: "string", description: "<public URL>/#invite=<code>: the web client's registration form" },
    uses_left: { type: "integer", minimum: 0 },
    expires_at: orNull(time),
    room_id: orNull(id),
  }),
  Invite: strict({
    id: publicId,
    uses_left: { type: "integer", minimum: 0 },
    expires_at: orNull(time),
    created_at: time,
    created_by: orNull(id),
    room_id: orNull(id),
  }),
  Account: strict({
    id,
    login: { type: "string", minLength: 1 },
    admin: { type: "boolean" },
    disabled: { type: "boolean" },
    created_at: time,
    last_seen_at: orNull(time),
  }),
  Empty: strict({}),
  PushSubscription: {
    type: "object",
    description: "the browser's PushSubscription JSON (other keys, such as expirationTime, are ignored)",
    properties: {
      endpoint: { type: "string", format: "uri", maxLength: 2048, description: "https: on a public host" },
      keys: {
        type: "object",
        properties: {
          p256dh: { type: "string", description: "base64url, a 65-byte uncompressed P-256 point" },
          auth: { type: "string", description: "base64url, 16 bytes" },
        },
        required: ["p256dh", "auth"],
      },
    },
    required: ["endpoint", "keys"],
  },
  PushEndpoint: { type: "object", properties: { endpoint: { type: "string" } }, required: ["endpoint"] },
  PushKey: strict({ key: { type: "string", pattern: "^[A-Za-z0-9_-]{87}$", description: "65-byte P-256 point" } }),
  // Not a reply: the plaintext inside a Web Push request's encrypted body (docs/api.md#push-notifications).
  PushPayload: {
    ...strict(
      {
        type: { const: "message" },
        room_id: id,
        message_id: id,
        seq: { type: "integer", minimum: 1 },
        sender: { type: "string", description: "the sender's login" },
        room_name: { type: ["string", "null"], description: "the group's name; null for direct rooms" },
        mention: { type: "boolean", description: "the message mentions the recipient" },
        unread: { type: "integer", minimum: 0, description: "the recipient's unread count in the room when sent" },
        text: {
          type: "string",
          description:
            "at most 200 code points and an ellipsis, or [first file's name]; absent with --push-preview off",
        },
      },
      ["type", "room_id", "message_id", "seq", "sender", "room_name", "mention", "unread"],
    ),
    description: "the JSON a push notification carries, encrypted (aes128gcm) for the subscription",
  },
  File: fileSchema,
  Message: strict(messageProps, messageRequired),
  MessageEdit: {
    type: "object",
    properties: { text: { type: "string", minLength: 1, maxLength: 4000 } },
    required: ["text"],
  },
  Reactions: strict({
    message_id: id,
    reactions: { type: "array", items: reactionList.items, description: "the list after the change ([]: none)" },
  }),
  Room: strict({
    id,
    users: { type: "array", items: ref("User"), minItems: 1, description: "the caller first, then join order" },
    ...roomProps,
  }),
  RoomSummary: strict({
    id,
    users: { type: "array", items: ref("User"), minItems: 1 },
    ...roomProps,
    last_message: { oneOf: [ref("Message"), { type: "null" }] },
    unread: { type: "integer", minimum: 0 },
    mentions: { type: "integer", minimum: 0, description: "unread messages that mention the caller" },
    notify: {
      ...notify,
      description: "the caller's level in effect (default: all in direct rooms, mentions in groups)",
    },
  }),
  // PUT /v1/rooms/{id}/settings: the body and the answer
  RoomSettings: strict({ notify, retention: roomProps.retention }),
  RoomSettingsChange: strict(
    {
      notify,
      retention: orNull({
        type: "integer",
        description: "the room's (its owner or an admin): seconds, at least 3600; 0: kept forever; null: the server's",
      }),
    },
    [],
  ),
  // GET /v1/search
  SearchResults: strict({
    results: {
      type: "array",
      items: strict({
        message: ref("Message"),
        highlights: {
          type: "array",
          description: "[start, end) of each matching word in UTF-16 code units of the text, in text order",
          items: { type: "array", items: { type: "integer", minimum: 0 }, minItems: 2, maxItems: 2 },
        },
      }),
    },
    next: {
      oneOf: [{ type: "string", minLength: 1 }, { type: "null" }],
      description: "pass as before for the next page; null on the last",
    },
  }),
  PublicRoom: strict({ id, name: roomName, topic: orNull(roomTopic), member_count: { type: "integer", minimum: 0 } }),
  // DELETE /v1/rooms/{id}/users/{user_id}: {} when the caller left, the room when they removed someone.
  RoomOrEmpty: { oneOf: [ref("Room"), ref("Empty")] },
  Health: strict({ status: { const: "ok" } }),
  Ready: strict({ status: { const: "ok" }, database: { const: "ok" } }),
  Document: { type: "object", description: "a JSON document (OpenAPI or AsyncAPI)" },

  // Request bodies (extra keys are accepted and ignored).
  Credentials: {
    type: "object",
    properties: { login: { type: "string", minLength: 1, maxLength: 64 }, password: { type: "string" } },
    required: ["login", "password"],
  },
  Registration: {
    type: "object",
    properties: {
      login: { type: "string", minLength: 1, maxLength: 64 },
      password: { type: "string" },
      invite: { type: "string", description: "an invite code: needed with --registration invite" },
    },
    required: ["login", "password"],
  },
  InviteRequest: {
    type: "object",
    properties: {
      uses: { type: "integer", minimum: 1, maximum: 1000, default: 1 },
      expires_in: { type: "integer", minimum: 60, maximum: 31536000, default: 604800, description: "seconds" },
      room_id: { type: "integer", description: "a room the admin is in: each new user joins it" },
    },
  },
  AccountChange: {
    type: "object",
    properties: { disabled: { type: "boolean" }, admin: { type: "boolean" } },
    minProperties: 1,
  },
  PasswordChange: {
    type: "object",
    properties: { old_password: { type: "string" }, new_password: { type: "string", minLength: 8, maxLength: 1024 } },
    required: ["old_password", "new_password"],
  },
  NewRoom: {
    type: "object",
    properties: {
      name: { ...roomName, description: "makes a group (never de-duplicated) owned by the caller" },
      topic: orNull({ ...roomTopic, description: "a group's topic" }),
      public: { type: "boolean", default: false, description: "a group in the public directory" },
      users: {
        type: "array",
        items: {
          type: "object",
          description: "by id, or by login when id is absent",
          properties: { id: { type: "integer" }, login: { type: "string" } },
        },
      },
    },
    required: ["users"],
  },
  RoomChange: {
    type: "object",
    properties: { name: roomName, topic: orNull(roomTopic), public: { type: "boolean" } },
    minProperties: 1,
  },
  MemberList: {
    type: "object",
    properties: {
      users: {
        type: "array",
        items: {
          type: "object",
          description: "by id, or by login when id is absent",
          properties: { id: { type: "integer" }, login: { type: "string" } },
        },
      },
    },
    required: ["users"],
  },
} satisfies Record<string, Schema>;

// WebSocket frames (AsyncAPI's components.schemas).
export const FRAME_SCHEMAS = {
  // Frames the server sends on a room socket.
  MessageFrame: strict(messageProps, messageRequired),
  TypedMessageFrame: strict({ type: { const: "message" }, ...messageProps }, ["type", ...messageRequired]),
  ErrorFrame: strict(
    {
      error: strict({ code: { type: "string", enum: [...FRAME_ERRORS] }, message: { type: "string" } }),
      client_id: { type: "string", maxLength: 64 },
    },
    ["error"],
  ),
  ResyncFrame: strict(
    { type: { const: "resync" }, room_id: id, seq: { type: "integer", minimum: 0, description: "user stream" } },
    ["type", "room_id"],
  ),
  HelloFrame: strict({ type: { const: "hello" }, user: userSchema }),
  SyncedFrame: strict({ type: { const: "synced" } }),
  RoomRemovedFrame: strict({ type: { const: "room_removed" }, room_id: id }),
  SettingsFrame: strict({ type: { const: "settings" }, room_id: id, notify }),
  TypingFrame: strict({ type: { const: "typing" }, room_id: id, user_id: id }),
  PresenceFrame: strict({ type: { const: "presence" }, room_id: id, online: { type: "array", items: id } }),
  UserPresenceFrame: strict({ type: { const: "presence" }, user_id: id, online: { type: "boolean" } }),
  ReadFrame: strict(
    {
      type: { const: "read" },
      room_id: id,
      user_id: id,
      message_id: { type: "integer", minimum: 0 },
      unread: { type: "integer", minimum: 0, description: "user stream: the reader's own streams only" },
      mentions: {
        type: "integer",
        minimum: 0,
        description: "user stream, the reader's own streams only: unread messages that mention the reader",
      },
    },
    ["type", "room_id", "user_id", "message_id"],
  ),
  MembersFrame: membersFrame,
  RoomChangeFrame: roomChangeFrame,
  ...messageChangeFrames,

  // Frames a client sends (extra keys are ignored).
  SendMessage: {
    type: "object",
    properties: {
      type: { const: "message", description: "the default" },
      text: {
        type: "string",
        maxLength: 4000,
        description: 'a visible character at least; "" or absent when files has some',
      },
      client_id: { type: "string", maxLength: 64 },
      files: {
        type: "array",
        maxItems: 10,
        items: { type: "string" },
        description:
          "ids of the sender's uploads to this room that no message has yet (POST /v1/rooms/{id}/files), else " +
          "invalid_files and nothing is stored",
      },
      room_id: { type: "integer", description: "user stream: the room (a room socket ignores it)" },
      reply_to: {
        type: "integer",
        minimum: 1,
        description: "the id of a live message of the same room this one answers (else message_not_found)",
      },
    },
    anyOf: [{ required: ["text"] }, { required: ["files"], properties: { files: { minItems: 1 } } }],
  },
  SendResume: {
    type: "object",
    properties: {
      type: { const: "resume" },
      rooms: {
        type: "object",
        description: 'user stream, its first frame: {"<room id>": <last seq seen>, …} ({} without state)',
        additionalProperties: { type: "integer", minimum: 0 },
      },
    },
    required: ["type", "rooms"],
  },
  SendTyping: {
    type: "object",
    properties: { type: { const: "typing" }, room_id: { type: "integer", description: "user stream: the room" } },
    required: ["type"],
  },
  SendRead: {
    type: "object",
    properties: {
      type: { const: "read" },
      message_id: { type: "integer", minimum: 0 },
      room_id: { type: "integer", description: "user stream: the room" },
    },
    required: ["type", "message_id"],
  },
} satisfies Record<string, Schema>;

export const SCHEMAS = { ...REST_SCHEMAS, ...FRAME_SCHEMAS };
export type SchemaName = keyof typeof SCHEMAS;
