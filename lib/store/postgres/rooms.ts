// Rooms on PostgreSQL: one per member set (across instances), members in join order, room lists
// and read markers.
import type { SQL } from "bun";
import { groupMembersByRoom, type MemberRow, memberKey } from "../members.ts";
import type { RoomSummary, Store, User } from "../store.ts";
import { message, type Row, user } from "./rows.ts";

type Rooms = Pick<Store, "createRoom" | "findRoomForMember" | "isMember" | "listRooms" | "markRead">;

export function createRooms(sql: SQL): Rooms {
  async function roomUsers(roomId: number): Promise<User[]> {
    const rows = await sql`SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
      WHERE m.room_id = ${roomId} ORDER BY m.position`;
    return rows.map(user);
  }

  async function isMember(roomId: number, userId: number) {
    const rows = await sql`SELECT 1 FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
    return rows.length > 0;
  }

  return {
    async createRoom(memberIds, now) {
      const key = memberKey(memberIds);
      // Two instances creating the same member set at once: the unique key lets one insert win,
      // the other waits for its commit and then finds the room.
      const id = await sql.begin(async (tx) => {
        const [created] = await tx`INSERT INTO rooms (member_key, created_at, last_activity)
          VALUES (${key}, ${now}, ${now}) ON CONFLICT (member_key) DO NOTHING RETURNING id`;
        if (!created) return Number((await tx`SELECT id FROM rooms WHERE member_key = ${key}`)[0].id);
        const members = memberIds.map((userId, position) => ({ room_id: created.id, user_id: userId, position }));
        await tx`INSERT INTO room_members ${sql(members)}`;
        return Number(created.id);
      });
      return { id, users: await roomUsers(id) };
    },
    async findRoomForMember(roomId, userId) {
      if (!(await isMember(roomId, userId))) return null;
      return { id: roomId, users: await roomUsers(roomId) };
    },
    isMember,
    async listRooms(userId) {
      const [rooms, members] = await Promise.all([userRooms(sql, userId), userRoomsMembers(sql, userId)]);
      const byRoom = groupMembersByRoom(members);
      return rooms.map(
        (r): RoomSummary => ({
          id: Number(r.id),
          users: byRoom.get(Number(r.id)) ?? [],
          lastMessage: r.m_id === null ? null : message(lastMessageRow(r)),
          unread: Number(r.unread),
        }),
      );
    },
    markRead: createReadMarkers(sql),
  };
}

// The user's rooms, newest activity first, each with its last message (m_* columns) and unread count.
async function userRooms(sql: SQL, userId: number): Promise<Row[]> {
  return await sql`SELECT r.id, r.last_activity, l.id AS m_id, l.room_id AS m_room_id, l.user_id AS m_user_id,
      l.text AS m_text, l.client_id AS m_client_id, l.created_at AS m_created_at,
      (SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.id > m.last_read_id AND x.user_id <> m.user_id) AS unread
    FROM room_members m JOIN rooms r ON r.id = m.room_id LEFT JOIN messages l ON l.id = r.last_message_id
    WHERE m.user_id = ${userId} ORDER BY r.last_activity DESC, r.id DESC`;
}

async function userRoomsMembers(sql: SQL, userId: number): Promise<MemberRow[]> {
  const rows = await sql`SELECT m.room_id, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
    WHERE m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ${userId}) ORDER BY m.room_id, m.position`;
  return rows.map((r: Row): MemberRow => ({ roomId: Number(r.room_id), ...user(r) }));
}

function lastMessageRow(r: Row): Row {
  return {
    id: r.m_id,
    room_id: r.m_room_id,
    user_id: r.m_user_id,
    text: r.m_text,
    client_id: r.m_client_id,
    created_at: r.m_created_at,
  };
}

// One user's markers in one room are applied in call order, as SQLite's single connection does,
// so the read events that report them come out in that order too.
function createReadMarkers(sql: SQL): Store["markRead"] {
  const chains = new Map<string, Promise<unknown>>();
  return (roomId, userId, messageId) => {
    const key = `${roomId}:${userId}`;
    const run = (chains.get(key) ?? Promise.resolve()).then(async () => {
      const [row] = await sql`UPDATE room_members SET last_read_id = GREATEST(last_read_id,
        LEAST(${messageId}, COALESCE((SELECT last_message_id FROM rooms WHERE id = ${roomId}), 0)))
        WHERE room_id = ${roomId} AND user_id = ${userId} RETURNING last_read_id`;
      return row ? Number(row.last_read_id) : 0;
    });
    const tail = run.catch(() => {});
    chains.set(key, tail);
    void tail.then(() => chains.get(key) === tail && chains.delete(key));
    return run;
  };
}
