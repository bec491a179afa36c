// The API's JSON shapes, snake_case exactly as the server sends them (docs/api.md).
import type { ErrorCode } from "./errors.ts";

export type User = { id: number; login: string };
export type Info = User & { admin: boolean };
export type Session = { session_id: string };

// One of the caller's signed-in sessions (GET /v1/sessions): id is a public identifier, never the secret.
export type SessionInfo = {
  id: string;
  created_at: string;
  last_used_at: string | null;
  user_agent: string | null;
  address: string | null;
  current: boolean;
};

// Admins only: invite links and the users' list (GET /v1/invites, GET /v1/admin/users).
// A live invite as listed: never its code, which is shown once, when the invite is made.
export type Invite = {
  id: string;
  uses_left: number;
  expires_at: string;
  created_at: string;
  created_by: number | null;
  room_id: number | null;
};
export type NewInvite = {
  id: string;
  code: string;
  url: string;
  uses_left: number;
  expires_at: string;
  room_id: number | null;
};
export type AdminUser = User & { admin: boolean; disabled: boolean; created_at: string; last_seen_at: string | null };

export type Message = {
  id: number;
  text: string;
  user_id: number;
  room_id: number;
  created_at: string; // UTC, second precision: "2015-08-05T22:18:45Z"
  client_id?: string; // present when the sender gave one
  seq?: number; // its place in the room's order; always sent by the server (a local pending copy has none)
  reply_to?: number; // present when it answers a message of the same room
  mentions?: number[]; // present when its text mentions members (@login): their ids
  edited_at?: string; // present when it was edited: the last edit
  reactions?: Reaction[]; // present when it has any
  deleted?: true; // only in a replayed edit frame: deleted since (text "")
  files?: FileInfo[]; // present when it carries files, in the order sent
};
// An uploaded file (POST /v1/rooms/:id/files) as messages carry it. url: signed, relative to the server, valid
// about an hour: GET it without headers (RestClient.fileUrl makes it absolute). width and height: images only.
export type FileInfo = {
  id: string;
  name: string;
  type: string;
  size: number;
  url: string;
  width?: number;
  height?: number;
};
// Emoji in first-reaction order, each with its users in reaction order.
export type Reaction = { emoji: string; user_ids: number[] };
// PUT and DELETE …/reactions/:emoji answer the message's reactions after the change ([]: none).
export type Reactions = { message_id: number; reactions: Reaction[] };

// The caller first, then the others in the order they joined. kind "direct": the seed's room, fixed by its
// member set; "group": named, with members who come and go. seq: the room's newest place in its order.
export type Room = {
  id: number;
  users: User[];
  name: string | null;
  topic: string | null;
  kind: "direct" | "group";
  public: boolean;
  owner_id: number | null;
  seq: number;
  // Seconds after which its messages are deleted; 0: kept forever; null: the server's --retention.
  retention: number | null;
};
export type NewGroup = { name: string; topic?: string | null; public?: boolean; users?: MemberRef[] };
export type RoomChange = { name?: string; topic?: string | null; public?: boolean };
// A public group as the directory lists it.
export type PublicRoom = { id: number; name: string; topic: string | null; member_count: number };
// mentions: how many of the unread messages mention the caller.
// A notification level: every message, those that mention you, or none.
export type NotifyLevel = "all" | "mentions" | "none";
// A browser's PushSubscription as JSON (PushSubscription.toJSON()), for subscribePush.
export type PushSubscriptionJson = { endpoint: string; keys: { p256dh: string; auth: string } };
// What a push notification carries (the service worker's push event: event.data.json()). room_name: null for
// direct rooms; text: absent when the server runs with --push-preview off (fetch the message instead).
export type PushPayload = {
  type: "message";
  room_id: number;
  message_id: number;
  seq: number;
  sender: string;
  room_name: string | null;
  mention: boolean;
  unread: number;
  text?: string;
};

// Your own settings in a room and the room's retention (PUT /v1/rooms/:id/settings), as answered.
export type RoomSettings = { notify: NotifyLevel; retention: number | null };
// What a PUT changes, each key on its own: notify (yours), retention (the room's: its owner or an admin;
// seconds, at least 3600; 0: keep forever; null: the server's).
export type RoomSettingsChange = { notify?: NotifyLevel; retention?: number | null };
// notify: your level in effect (by default all in direct rooms, mentions in groups).
export type RoomSummary = Room & {
  last_message: Message | null;
  unread: number;
  mentions: number;
  notify: NotifyLevel;
};
// GET /v1/search. highlights: [start, end) of each matching word in UTF-16 code units of message.text
// (String.prototype.slice offsets). next: the cursor of the next page, null on the last.
export type SearchQuery = { q: string; roomId?: number; order?: "newest" | "rank"; limit?: number; before?: string };
export type SearchResult = { message: Message; highlights: [number, number][] };
export type SearchResults = { results: SearchResult[]; next: string | null };
export type Health = { status: "ok" };
export type Readiness = { status: "ok"; database: "ok" };

// A member to put in a new room: by id, or looked up by login.
export type MemberRef = { id: number } | { login: string };

// Raw HTTP answer of the transport: body is the parsed JSON, or the text when it is not JSON.
export type Reply<T = unknown> = { status: number; headers: Headers; body: T };

// Room socket frames (docs/api.md, WebSocket). Events come only to a socket that opted in to them.
export type RoomEvent = "typing" | "presence" | "read" | "members" | "changes";
export type MessageFrame = Message & { type?: "message" };
export type TypingFrame = { type: "typing"; room_id: number; user_id: number };
export type PresenceFrame = { type: "presence"; room_id: number; online: number[] };
// unread, mentions: on the user stream, to the reader's own streams only: the room's unread count after the
// marker, and how many of those mention the reader.
export type ReadFrame = {
  type: "read";
  room_id: number;
  user_id: number;
  message_id: number;
  unread?: number;
  mentions?: number;
};
// The user stream: your own settings in a room changed (on any of your devices).
export type SettingsFrame = { type: "settings"; room_id: number; notify: NotifyLevel };
// The user stream's presence: per user, not per room (a user who shares a room with you).
export type UserPresenceFrame = { type: "presence"; user_id: number; online: boolean };
export type ResyncFrame = { type: "resync"; room_id: number };
// Durable room changes, in the room's order with its messages (events=members).
export type MembersFrame = {
  type: "members";
  room_id: number;
  seq: number;
  users: User[]; // the membership after the change, in join order
  added: number[];
  removed: number[];
  by: number;
};
export type RoomFrame = { type: "room"; room_id: number; seq: number; room: Room; by: number };
// A message's changes, in the room's order with its messages (events=changes; always on the user stream).
// A replayed edit shows the message as it is now; a message deleted since is a tombstone (deleted: true).
export type EditFrame = { type: "edit"; room_id: number; seq: number; message: Message };
export type DeleteFrame = { type: "delete"; room_id: number; seq: number; message_id: number };
export type ReactionFrame = {
  type: "reaction";
  room_id: number;
  seq: number;
  message_id: number;
  reactions: Reaction[];
};
export type ErrorFrame = { error: { code: ErrorCode; message: string }; client_id?: string };
export type ServerFrame =
  | MessageFrame
  | TypingFrame
  | PresenceFrame
  | UserPresenceFrame
  | SettingsFrame
  | ReadFrame
  | ResyncFrame
  | MembersFrame
  | RoomFrame
  | EditFrame
  | DeleteFrame
  | ReactionFrame
  | ErrorFrame;
export type ClientFrame =
  | { type?: "message"; text: string; client_id?: string }
  | { type: "typing" }
  | { type: "read"; message_id: number };
