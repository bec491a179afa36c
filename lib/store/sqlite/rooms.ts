// Rooms on SQLite: one per member set, their members in join order, room lists and read markers.
import type { Database } from "bun:sqlite";
import { groupMembersByRoom, type MemberRow, memberKey } from "../members.ts";
import type { Message, RoomSummary, Store, User } from "../store.ts";
import { MESSAGE } from "./columns.ts";

type Rooms = Pick<Store, "createRoom" | "findRoomForMember" | "isMember" | "listRooms" | "markRead">;
type RoomRow = { id: number; lastMessageId: number | null; unread: number };

export function createRooms(db: Database): Rooms {
  const q = prepare(db);
  const createRoom = db.transaction((memberIds: number[], now: number): number => {
    const key = memberKey(memberIds);
    const existing = q.roomByKey.get(key);
    if (existing) return existing.id;
    const { id } = q.insertRoom.get(key, now, now)!;
    memberIds.forEach((userId, position) => q.insertMember.run(id, userId, position));
    return id;
  });

  return {
    async createRoom(memberIds, now) {
      const id = createRoom.immediate(memberIds, now);
      return { id, users: q.roomUsers.all(id) };
    },
    async findRoomForMember(roomId, userId) {
      if (!q.isMember.get(roomId, userId)) return null;
      return { id: roomId, users: q.roomUsers.all(roomId) };
    },
    async isMember(roomId, userId) {
      return q.isMember.get(roomId, userId) !== null;
    },
    async listRooms(userId) {
      const members = groupMembersByRoom(q.userRoomsMembers.all(userId));
      return q.userRooms.all(userId).map(
        (r): RoomSummary => ({
          id: r.id,
          users: members.get(r.id) ?? [],
          lastMessage: r.lastMessageId === null ? null : q.messageById.get(r.lastMessageId),
          unread: r.unread,
        }),
      );
    },
    async markRead(roomId, userId, messageId) {
      return q.markRead.get(messageId, roomId, userId)?.last_read_id ?? 0;
    },
  };
}

// The statements, prepared once.
function prepare(db: Database) {
  const roomByKey = db.query<{ id: number }, [string]>("SELECT id FROM rooms WHERE member_key = ?");
  const insertRoom = db.query<{ id: number }, [string, number, number]>(
    "INSERT INTO rooms (member_key, created_at, last_activity) VALUES (?, ?, ?) RETURNING id",
  );
  const insertMember = db.query<never, [number, number, number]>(
    "INSERT INTO room_members (room_id, user_id, position) VALUES (?, ?, ?)",
  );
  const isMember = db.query<{ one: number }, [number, number]>(
    "SELECT 1 AS one FROM room_members WHERE room_id = ? AND user_id = ?",
  );
  const roomUsers = db.query<User, [number]>(
    `SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = ? ORDER BY m.position`,
  );
  const userRooms = db.query<RoomRow, [number]>(
    `SELECT r.id, r.last_message_id AS lastMessageId,
       (SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.id > m.last_read_id AND x.user_id != m.user_id) AS unread
     FROM room_members m JOIN rooms r ON r.id = m.room_id
     WHERE m.user_id = ? ORDER BY r.last_activity DESC, r.id DESC`,
  );
  const userRoomsMembers = db.query<MemberRow, [number]>(
    `SELECT m.room_id AS roomId, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ?) ORDER BY m.room_id, m.position`,
  );
  const messageById = db.query<Message, [number]>(`SELECT ${MESSAGE} FROM messages WHERE id = ?`);
  // Never backwards, and never past the room's newest message (else later messages would arrive read).
  const markRead = db.query<{ last_read_id: number }, [number, number, number]>(
    `UPDATE room_members SET last_read_id = max(last_read_id,
       min(?1, coalesce((SELECT last_message_id FROM rooms WHERE id = ?2), 0)))
     WHERE room_id = ?2 AND user_id = ?3 RETURNING last_read_id`,
  );
  return {
    roomByKey,
    insertRoom,
    insertMember,
    isMember,
    roomUsers,
    userRooms,
    userRoomsMembers,
    messageById,
    markRead,
  };
}
