// The room's order read back, shared by both dialects.
import { fromStored, storedReactions } from "./reactions.ts";
import type { Message, Room, RoomEvent, RoomFrame } from "./store.ts";

// Messages and events, each in seq order, merged into one list of at most limit frames.
export function mergeFrames(messages: Message[], events: RoomEvent[], limit: number): RoomFrame[] {
  const out: RoomFrame[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < messages.length || j < events.length)) {
    const m = messages[i];
    const e = events[j];
    if (m && (!e || m.seq < e.seq)) out.push({ kind: "message", message: messages[i++]! });
    else out.push(events[j++]!);
  }
  return out;
}

// Several rooms' messages and events (each ordered by room, then seq), merged per room as mergeFrames
// does: at most limit frames for each room of `rooms`, [] for a room with none.
export function mergeRoomsFrames(
  rooms: Iterable<number>,
  messages: Message[],
  events: RoomEvent[],
  limit: number,
): Map<number, RoomFrame[]> {
  const byRoom = new Map<number, { messages: Message[]; events: RoomEvent[] }>();
  for (const room of rooms) byRoom.set(room, { messages: [], events: [] });
  for (const m of messages) byRoom.get(m.roomId)?.messages.push(m);
  for (const e of events) byRoom.get(e.roomId)?.events.push(e);
  const out = new Map<number, RoomFrame[]>();
  for (const [room, read] of byRoom) out.set(room, mergeFrames(read.messages, read.events, limit));
  return out;
}

// A room_events row's body: what the event carries besides room_id, seq and by. A members event keeps
// the room's other fields (not its users, which it holds already); rows the migration made have none:
// they are direct rooms.
export function eventBody(e: RoomEvent): string {
  if (e.kind === "room") return JSON.stringify({ room: e.room });
  if (e.kind === "edit") return JSON.stringify({ message_id: e.message.id }); // never the text
  if (e.kind === "delete") return JSON.stringify({ message_id: e.messageId });
  if (e.kind === "reaction")
    return JSON.stringify({ message_id: e.messageId, reactions: storedReactions(e.reactions) });
  const { name, topic, kind, public: open, ownerId, retention } = e.room;
  const room = { name, topic, kind, public: open, ownerId, retention };
  return JSON.stringify({ users: e.users, added: e.added, removed: e.removed, room });
}

// Events whose message is still stored: an edit of a message retention deleted is not read back (it has
// nothing to show; its delete and reaction events carry only ids and pass, as for any message a client lacks).
export const readable = (e: RoomEvent) => e.kind !== "edit" || e.message !== undefined;

// The messages that edit events among these rows stand for.
export function editedIds(rows: { kind: string; body: string }[]): number[] {
  return rows.filter((r) => r.kind === "edit").map((r) => JSON.parse(r.body).message_id as number);
}

// Rows stored before a field existed lack it: direct rooms' fields, no retention of the room's own.
const DIRECT = { name: null, topic: null, kind: "direct", public: false, ownerId: null, retention: null };

// messages: the edited messages as they are now, by id (editedIds lists those an edit event needs).
export function eventFromBody(
  kind: string,
  roomId: number,
  seq: number,
  by: number,
  text: string,
  messages?: Map<number, Message>,
): RoomEvent {
  const body = JSON.parse(text);
  if (kind === "room") return { kind: "room", roomId, seq, room: { retention: null, ...body.room }, by };
  if (kind === "edit") return { kind, roomId, seq, by, message: messages!.get(body.message_id)! };
  if (kind === "delete") return { kind, roomId, seq, by, messageId: body.message_id };
  if (kind === "reaction") {
    return { kind, roomId, seq, by, messageId: body.message_id, reactions: fromStored(body.reactions) };
  }
  const room: Room = { ...DIRECT, ...body.room, id: roomId, users: body.users, seq };
  return { kind: "members", roomId, seq, users: body.users, added: body.added, removed: body.removed, by, room };
}
