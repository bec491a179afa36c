// Rooms on SQLite: one per member set, their members in join order, room lists and read markers.
import type { Database } from "bun:sqlite";
import { groupMembersByRoom, type MemberRow, memberKey, NO_CURSOR } from "../members.ts";
import type { Message, RoomRules, RoomSummary, Store, User } from "../store.ts";
import { MESSAGE } from "./columns.ts";

type Rooms = Pick<Store, "createRoom" | "findRoomForMember" | "isMember" | "listRooms" | "markRead">;
type RoomRow = { id: number; lastMessageId: number | null; lastActivity: number; unread: number };

export function createRooms(db: Database): Rooms {
  const q = prepare(db);
  // A user's rooms are counted through the (user_id, room_id) index, at most maxRooms entries each.
  const createRoom = db.transaction((memberIds: number[], now: number, { maxRooms, mayCreate }: RoomRules) => {
    const key = memberKey(memberIds);
    const existing = q.roomByKey.get(key);
    if (existing) return { id: existing.id, created: false };
    if (!mayCreate) return { full: null };
    const full = memberIds.find((userId) => q.roomCount.get(userId, maxRooms)!.n >= maxRooms);
    if (full !== undefined) return { full };
    const { id } = q.insertRoom.get(key, now, now)!;
    memberIds.forEach((userId, position) => q.insertMember.run(id, userId, position));
    return { id, created: true };
  });

  return {
    async createRoom(memberIds, now, rules) {
      const r = createRoom.immediate(memberIds, now, rules);
      if ("full" in r) return { room: null, full: r.full == null ? null : q.userById.get(r.full)! };
      return { room: { id: r.id, users: q.roomUsers.all(r.id) }, created: r.created };
    },
    async findRoomForMember(roomId, userId) {
      if (!q.isMember.get(roomId, userId)) return null;
      return { id: roomId, users: q.roomUsers.all(roomId) };
    },
    async isMember(roomId, userId) {
      return q.isMember.get(roomId, userId) !== null;
    },
    async listRooms(userId, page) {
      const { activity, id } = page.before ?? NO_CURSOR;
      const rooms = q.userRooms.all(userId, activity, id, page.limit);
      if (rooms.length === 0) return [];
      const members = groupMembersByRoom(q.roomsMembers.all(JSON.stringify(rooms.map((r) => r.id))));
      return rooms.map(
        (r): RoomSummary => ({
          id: r.id,
          users: members.get(r.id) ?? [],
          lastMessage: r.lastMessageId === null ? null : q.messageById.get(r.lastMessageId),
          unread: r.unread,
          lastActivity: r.lastActivity,
        }),
      );
    },
    // Read first: a marker that would not advance takes no write lock and writes nothing.
    async markRead(roomId, userId, messageId) {
      const state = q.readState.get(roomId, userId);
      if (!state) return 0;
      if (Math.min(messageId, state.newest) <= state.marker) return state.marker;
      return q.advanceRead.get(roomId, userId, messageId)?.marker ?? q.readState.get(roomId, userId)?.marker ?? 0;
    },
  };
}

// The statements, prepared once.
function prepare(db: Database) {
  const roomByKey = db.query<{ id: number }, [string]>("SELECT id FROM rooms WHERE member_key = ?");
  const roomCount = db.query<{ n: number }, [number, number]>(
    "SELECT count(*) AS n FROM (SELECT 1 FROM room_members WHERE user_id = ? LIMIT ?)",
  );
  const userById = db.query<User, [number]>("SELECT id, login FROM users WHERE id = ?");
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
  // Unread from counters (schema.sql): no message is counted here, whatever the room's size.
  const userRooms = db.query<RoomRow, [number, number, number, number]>(
    `SELECT r.id, r.last_message_id AS lastMessageId, r.last_activity AS lastActivity,
       (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread
     FROM room_members m JOIN rooms r ON r.id = m.room_id
     WHERE m.user_id = ?1 AND (r.last_activity < ?2 OR (r.last_activity = ?2 AND r.id < ?3))
     ORDER BY r.last_activity DESC, r.id DESC LIMIT ?4`,
  );
  const roomsMembers = db.query<MemberRow, [string]>(
    `SELECT m.room_id AS roomId, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id IN (SELECT value FROM json_each(?)) ORDER BY m.room_id, m.position`,
  );
  const messageById = db.query<Message, [number]>(`SELECT ${MESSAGE} FROM messages WHERE id = ?`);
  const readState = db.query<{ marker: number; newest: number }, [number, number]>(
    `SELECT m.last_read_id AS marker, coalesce(r.last_message_id, 0) AS newest
     FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = ? AND m.user_id = ?`,
  );
  // Never backwards, and never past the room's newest message (else later messages would arrive read).
  // The counters at the marker: at the newest message they are the room's and the member's totals;
  // short of it, what lies between the old and the new marker is counted once, so over a marker's
  // life each message is counted at most once whatever the calls.
  const advanceRead = db.query<{ marker: number }, [number, number, number]>(
    `UPDATE room_members SET last_read_id = t.target,
       read_count = CASE WHEN t.target = t.newest THEN t.total ELSE read_count + (SELECT count(*) FROM messages x
         WHERE x.room_id = ?1 AND x.id > room_members.last_read_id AND x.id <= t.target) END,
       read_sent = CASE WHEN t.target = t.newest THEN sent ELSE read_sent + (SELECT count(*) FROM messages x
         WHERE x.room_id = ?1 AND x.id > room_members.last_read_id AND x.id <= t.target AND x.user_id = ?2) END
     FROM (SELECT min(?3, coalesce(last_message_id, 0)) AS target, coalesce(last_message_id, 0) AS newest,
             message_count AS total FROM rooms WHERE id = ?1) AS t
     WHERE room_id = ?1 AND user_id = ?2 AND last_read_id < t.target
     RETURNING last_read_id AS marker`,
  );
  return {
    roomByKey,
    roomCount,
    userById,
    insertRoom,
    insertMember,
    isMember,
    roomUsers,
    userRooms,
    roomsMembers,
    messageById,
    readState,
    advanceRead,
  };
}
