// Domain objects become API JSON here and only here.
import type { Account, Invite, Message, Room, RoomSummary, SessionRow } from "../store/store.ts";

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

export function messageJson(m: Message) {
  const out: Record<string, unknown> = {
    id: m.id,
    text: m.text,
    user_id: m.userId,
    room_id: m.roomId,
    created_at: formatTime(m.createdAt),
  };
  if (m.clientId !== null) out.client_id = m.clientId;
  return out;
}

// The viewer is listed first, the others in join order.
export function roomJson(room: Room, viewerId: number) {
  const me = room.users.filter((u) => u.id === viewerId);
  const others = room.users.filter((u) => u.id !== viewerId);
  return { id: room.id, users: [...me, ...others].map((u) => ({ id: u.id, login: u.login })) };
}

export function roomSummaryJson(room: RoomSummary, viewerId: number) {
  return {
    ...roomJson(room, viewerId),
    last_message: room.lastMessage && messageJson(room.lastMessage),
    unread: room.unread,
  };
}

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
