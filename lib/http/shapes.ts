// Domain objects become API JSON here and only here.
import type { Message, Room, RoomSummary } from "../store/store.ts";

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
