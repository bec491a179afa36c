// Domain objects become API JSON here and only here.
import type {
  Account,
  FileRef,
  Invite,
  Message,
  PublicRoom,
  PushTarget,
  Reaction,
  Room,
  RoomEvent,
  RoomSettings,
  RoomSummary,
  SessionRow,
  User,
} from "../store/store.ts";

// Memoized by the second: every message in a burst shares its timestamp text.
let lastSecond = NaN;
let lastText = "";
export function formatTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().slice(0, 19) + "Z";
    lastSecond = second;
  }
  return lastText;
}

// A file's URL as the reader gets it (signed: lib/files/signing.ts), given by whoever makes the JSON so that
// this module stays pure; called once per file per JSON made (a frame fan-out signs once, not per recipient).
export type FileUrl = (f: FileRef) => string;

export function messageJson(m: Message, fileUrl: FileUrl) {
  const out: Record<string, unknown> = {
    id: m.id,
    text: m.text,
    user_id: m.userId,
    room_id: m.roomId,
    created_at: formatTime(m.createdAt),
    seq: m.seq,
  };
  if (m.clientId !== null) out.client_id = m.clientId;
  if (m.editedAt !== undefined) out.edited_at = formatTime(m.editedAt);
  if (m.replyTo !== undefined) out.reply_to = m.replyTo;
  if (m.mentions?.length) out.mentions = m.mentions;
  if (m.reactions?.length) out.reactions = reactionsJson(m.reactions);
  if (m.deleted) out.deleted = true;
  if (m.files?.length) out.files = m.files.map((f) => fileJson(f, fileUrl(f)));
  return out;
}

// A file as the upload answers it and messages carry it; url: its signed URL (lib/files/signing.ts).
export function fileJson(f: Omit<FileRef, "epoch">, url: string) {
  const out: Record<string, unknown> = { id: f.publicId, name: f.name, type: f.type, size: f.size, url };
  if (f.width !== null && f.height !== null) {
    out.width = f.width;
    out.height = f.height;
  }
  return out;
}

// GET /v1/search: each message found with the [start, end) UTF-16 ranges of its matching words.
export function searchJson(
  found: { message: Message; highlights: [number, number][] }[],
  next: string | null,
  fileUrl: FileUrl,
) {
  return { results: found.map((f) => ({ message: messageJson(f.message, fileUrl), highlights: f.highlights })), next };
}

export const reactionsJson = (reactions: Reaction[]) => reactions.map((r) => ({ emoji: r.emoji, user_ids: r.userIds }));

const usersJson = (users: User[]) => users.map((u) => ({ id: u.id, login: u.login }));

// The viewer is listed first, the others in join order; without a viewer (frames that every member
// gets alike), all in join order.
export function roomJson(room: Room, viewerId?: number) {
  const me = room.users.filter((u) => u.id === viewerId);
  const others = room.users.filter((u) => u.id !== viewerId);
  return {
    id: room.id,
    users: usersJson([...me, ...others]),
    name: room.name,
    topic: room.topic,
    kind: room.kind,
    public: room.public,
    owner_id: room.ownerId,
    seq: room.seq,
    retention: room.retention,
  };
}

// A membership or room change as a frame (room socket with events=members); a message's change (edit,
// delete, reaction: events=changes and the user stream).
export function roomEventJson(e: RoomEvent, fileUrl: FileUrl) {
  if (e.kind === "room") return { type: "room", room_id: e.roomId, seq: e.seq, room: roomJson(e.room), by: e.by };
  if (e.kind === "edit")
    return { type: "edit", room_id: e.roomId, seq: e.seq, message: messageJson(e.message, fileUrl) };
  if (e.kind === "delete") return { type: "delete", room_id: e.roomId, seq: e.seq, message_id: e.messageId };
  if (e.kind === "reaction") {
    const { roomId, seq, messageId, reactions } = e;
    return { type: "reaction", room_id: roomId, seq, message_id: messageId, reactions: reactionsJson(reactions) };
  }
  const { roomId, seq, users, added, removed, by } = e;
  return { type: "members", room_id: roomId, seq, users: usersJson(users), added, removed, by };
}

export function publicRoomJson(r: PublicRoom) {
  return { id: r.id, name: r.name, topic: r.topic, member_count: r.memberCount };
}

export function roomSummaryJson(room: RoomSummary, viewerId: number, fileUrl: FileUrl) {
  return {
    ...roomJson(room, viewerId),
    last_message: room.lastMessage && messageJson(room.lastMessage, fileUrl),
    unread: room.unread,
    mentions: room.mentions,
    notify: room.notify,
  };
}

// The caller's settings and the room's retention (seconds; null: the server's, 0: kept forever).
export const roomSettingsJson = (s: RoomSettings, retention: number | null) => ({ notify: s.notify, retention });

const time = (ms: number | null) => (ms === null ? null : formatTime(ms));

export function accountJson(a: Account) {
  return {
    id: a.id,
    login: a.login,
    admin: a.admin,
    disabled: a.disabled,
    created_at: formatTime(a.createdAt),
    last_seen_at: time(a.lastSeenAt),
  };
}

// Made: with the code and its link, shown this once (the server keeps only a hash of the code).
type NewInvite = { code: string; publicId: string; usesLeft: number; expiresAt: number | null; roomId: number | null };
export function newInviteJson(i: NewInvite, url: string) {
  return { id: i.publicId, code: i.code, url, uses_left: i.usesLeft, expires_at: time(i.expiresAt), room_id: i.roomId };
}

export function inviteJson(i: Invite) {
  return {
    id: i.publicId,
    uses_left: i.usesLeft,
    expires_at: time(i.expiresAt),
    created_at: formatTime(i.createdAt),
    created_by: i.createdBy,
    room_id: i.roomId,
  };
}

export function sessionJson(s: SessionRow, current: boolean) {
  return {
    id: s.publicId,
    created_at: formatTime(s.createdAt),
    last_used_at: formatTime(s.lastUsedAt),
    user_agent: s.userAgent,
    address: s.address,
    current,
  };
}

// A Web Push notification's plaintext (docs/api.md#push-notifications), inside the encrypted body. text: the
// message cut to PREVIEW_LENGTH code points ("…" added when cut), or its first file's name in brackets; absent
// with --push-preview off (the device fetches the message itself).
export const PREVIEW_LENGTH = 200;
export function pushPayloadJson(t: PushTarget, preview: boolean) {
  const m = t.message;
  const body = {
    type: "message" as const,
    room_id: m.roomId,
    message_id: m.id,
    seq: m.seq,
    sender: t.senderLogin,
    room_name: t.roomKind === "group" ? t.roomName : null,
    mention: m.mentions?.includes(t.userId) ?? false,
    unread: t.unread,
  };
  return preview ? { ...body, text: previewText(m) } : body;
}

function previewText(m: Message): string {
  const points = [...m.text];
  if (points.length > PREVIEW_LENGTH) return points.slice(0, PREVIEW_LENGTH).join("") + "…";
  if (m.text === "" && m.files?.[0]) return `[${m.files[0].name}]`;
  return m.text;
}
