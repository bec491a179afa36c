// Rooms read as domain objects, on whichever connection asks: the main one (reads) and the writer's
// (room changes answer with the room after the change).
import type { Database } from "bun:sqlite";
import { editedIds, eventFromBody, readable } from "../frames.ts";
import type { Message, Room, RoomEvent, RoomKind, User } from "../store.ts";

export type RoomRow = {
  id: number;
  kind: RoomKind;
  name: string | null;
  topic: string | null;
  public: number;
  ownerId: number | null;
  seq: number;
  archived: number;
  retention: number | null;
};
export type EventRow = { roomId: number; seq: number; kind: RoomEvent["kind"]; byId: number; body: string };

const ROOM = "id, kind, name, topic, public, owner_id AS ownerId, seq, archived, retention";
export const EVENT = "room_id AS roomId, seq, kind, by_id AS byId, body";

export function toRoom(r: RoomRow, users: User[]): Room {
  return {
    id: r.id,
    users,
    name: r.name,
    topic: r.topic,
    kind: r.kind,
    public: r.public === 1,
    ownerId: r.ownerId,
    seq: r.seq,
    retention: r.retention ?? null,
  };
}

export function toEvent(r: EventRow, messages?: Map<number, Message>): RoomEvent {
  return eventFromBody(r.kind, r.roomId, r.seq, r.byId, r.body, messages);
}

// Events as read back: an edit's message is read now (its event stores only the id).
export function toEvents(rows: EventRow[], read: (ids: number[]) => Message[]): RoomEvent[] {
  const ids = editedIds(rows);
  const messages = new Map(ids.length === 0 ? [] : read(ids).map((m) => [m.id, m]));
  return rows.map((r) => toEvent(r, messages)).filter(readable);
}

export function prepareRoomReads(db: Database) {
  const roomRow = db.query<RoomRow, [number]>(`SELECT ${ROOM} FROM rooms WHERE id = ?`);
  const roomUsers = db.query<User, [number]>(
    `SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = ? ORDER BY m.position`,
  );
  return {
    users: (roomId: number) => roomUsers.all(roomId),
    // Archived groups too (archived: true); null when missing.
    room(roomId: number): (Room & { archived: boolean }) | null {
      const r = roomRow.get(roomId);
      return r ? { ...toRoom(r, roomUsers.all(roomId)), archived: r.archived === 1 } : null;
    },
  };
}
