// The AsyncAPI 3.0 document of the room WebSocket, built from SCHEMAS and the close codes in errors.ts:
// GET /v1/asyncapi.json. A new frame is one entry in SCHEMAS and one in SERVER_FRAMES or CLIENT_FRAMES.
import { CLOSE } from "../../errors.ts";
import { EVENTS } from "../../realtime/topics.ts";
import { FRAME_SCHEMAS, ref, type SchemaName } from "./schemas.ts";

type Frame = { schema: SchemaName; summary: string; event?: (typeof EVENTS)[number] };

// What the server sends (name -> frame). event: sent only to sockets that opted in with ?events=.
export const SERVER_FRAMES: Record<string, Frame> = {
  message: { schema: "MessageFrame", summary: "A stored message (also the sender's ack), to sockets without events" },
  typedMessage: { schema: "TypedMessageFrame", summary: 'A stored message with "type":"message", to opted-in sockets' },
  error: {
    schema: "ErrorFrame",
    summary: "A refused frame, to its sender only; the socket stays open (binary frames are read as UTF-8 text)",
  },
  resync: {
    schema: "ResyncFrame",
    summary:
      "More than 1000 messages (with events=members: frames) were missed, or the resume is from before the room's " +
      "kept history (retention deleted it): reload over REST",
  },
  typing: { schema: "TypingFrame", summary: "A member is typing (not echoed to its socket)", event: "typing" },
  presence: {
    schema: "PresenceFrame",
    summary: "The set of connected users changed: online is every one, sorted by user id",
    event: "presence",
  },
  read: {
    schema: "ReadFrame",
    summary:
      "A member's read marker, as stored, to every opted-in socket, the reader's own included (on the user stream, " +
      "the reader's own streams get the room's unread and unread mentions)",
    event: "read",
  },
  members: {
    schema: "MembersFrame",
    summary: "Members were added or removed (the room's order: seq); replayed on resume",
    event: "members",
  },
  hello: { schema: "HelloFrame", summary: "User stream: the first frame, who the stream belongs to" },
  synced: { schema: "SyncedFrame", summary: "User stream: everything missed was sent; live frames follow" },
  userPresence: {
    schema: "UserPresenceFrame",
    summary: "User stream: a user who shares a room with you is online (any socket anywhere) or no longer",
  },
  roomRemoved: { schema: "RoomRemovedFrame", summary: "User stream: the user is no longer in this room" },
  settings: {
    schema: "SettingsFrame",
    summary: "User stream: your own settings in a room changed (PUT /v1/rooms/{id}/settings, from any device)",
  },
  room: {
    schema: "RoomChangeFrame",
    summary:
      "A group's name, topic, visibility or owner, or a room's retention, changed (the room's order: seq); replayed " +
      "on resume",
    event: "members",
  },
  edit: {
    schema: "EditFrame",
    summary:
      "A message was edited (the room's order: seq); replayed on resume with the message as it is now " +
      '(a tombstone with "deleted":true if it was deleted since); also on the user stream',
    event: "changes",
  },
  delete: {
    schema: "DeleteFrame",
    summary: "A message was deleted (the room's order: seq); replayed on resume; also on the user stream",
    event: "changes",
  },
  reaction: {
    schema: "ReactionFrame",
    summary: "A message's reactions changed, the list after it (the room's order: seq); also on the user stream",
    event: "changes",
  },
};

// What a client sends; a frame without "type" is a message.
export const CLIENT_FRAMES: Record<string, Frame> = {
  sendMessage: {
    schema: "SendMessage",
    summary: "Send a message; client_id makes it idempotent, reply_to answers a message of the room",
  },
  sendTyping: { schema: "SendTyping", summary: "Tell the room you are typing" },
  sendRead: { schema: "SendRead", summary: "Move your read marker" },
  sendResume: { schema: "SendResume", summary: "User stream: the first frame, the last seq seen per room" },
};

const CLOSE_TABLE = Object.values(CLOSE)
  .map((c) => `| ${c.code} | ${c.reason} | ${c.reconnect ? "yes, with `?after=` the last id seen" : "no"} |`)
  .join("\n");

const DESCRIPTION = `The room WebSocket of echat (human reference: docs/api.md). The upgrade's refusals (401, 403,
422, 426, 429) are JSON errors, described in /v1/openapi.json.

Close codes (\`x-close-codes\` on the channel):

| code | reason | reconnect? |
|------|--------|------------|
${CLOSE_TABLE}

After any close that allows it, reconnect with backoff and \`?after=<last id seen>\`: nothing is lost.`;

const messages = (frames: Record<string, Frame>) =>
  Object.fromEntries(
    Object.entries(frames).map(([name, f]) => [
      name,
      {
        name,
        summary: f.summary,
        contentType: "application/json",
        payload: ref(f.schema),
        ...(f.event ? { description: `Opt-in: only with \`?events=${f.event}\`.` } : {}),
      },
    ]),
  );

const channelRefs = (frames: Record<string, Frame>) =>
  Object.keys(frames).map((name) => ({ $ref: `#/channels/room/messages/${name}` }));

const QUERY = {
  type: "object",
  properties: {
    session_id: { type: "string", description: "the session (or the X-Session-Id / Authorization headers)" },
    after: {
      type: "integer",
      minimum: 0,
      description:
        "resume: every stored message with a larger id first (with events=members or changes: every frame after " +
        "this seq)",
    },
    events: { type: "string", description: `opt-in events, comma-separated: ${EVENTS.join(", ")}` },
  },
};

export function buildAsyncApi(version: string) {
  const all = { ...messages(SERVER_FRAMES), ...messages(CLIENT_FRAMES) };
  return {
    asyncapi: "3.0.0",
    info: { title: "echat room WebSocket", version, description: DESCRIPTION },
    defaultContentType: "application/json",
    channels: {
      room: {
        address: "/v1/rooms/{id}/chat",
        title: "A room's live messages and events",
        parameters: { id: { description: "the room id (a positive integer)" } },
        messages: Object.fromEntries(Object.keys(all).map((n) => [n, { $ref: `#/components/messages/${n}` }])),
        bindings: { ws: { method: "GET", query: QUERY, bindingVersion: "0.1.0" } },
        "x-close-codes": Object.values(CLOSE),
      },
    },
    operations: {
      receiveFrames: {
        action: "receive",
        summary: "Frames a client sends",
        channel: { $ref: "#/channels/room" },
        messages: channelRefs(CLIENT_FRAMES),
      },
      sendFrames: {
        action: "send",
        summary: "Frames the server sends",
        channel: { $ref: "#/channels/room" },
        messages: channelRefs(SERVER_FRAMES),
      },
    },
    components: { schemas: FRAME_SCHEMAS, messages: all },
  };
}
