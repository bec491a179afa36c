// Rooms on SQLite: reads (members in join order, room lists, the public directory) and read markers
// here; changes run on the message writer (room-changes.ts).
import type { Database } from "bun:sqlite";
import { groupMembersByRoom, groupMemberships, type MemberRow, type MembershipRow, NO_CURSOR } from "../members.ts";
import {
  defaultNotify,
  type NotifyLevel,
  type PublicRoom,
  type Room,
  type RoomKind,
  type RoomSummary,
  type Store,
} from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";
import { prepareRoomReads, type RoomRow, toRoom } from "./room-rows.ts";

type Rooms = Pick<
  Store,
  | "createRoom"
  | "createGroup"
  | "updateRoom"
  | "addMembers"
  | "removeMember"
  | "joinRoom"
  | "findRoomForMember"
  | "findRoomsForMember"
  | "isMember"
  | "listRooms"
  | "listPublicRooms"
  | "listMemberships"
  | "markRead"
  | "setRoomSettings"
  | "setRoomRetention"
>;
type RoomListRow = RoomRow & {
  lastMessageId: number | null;
  lastActivity: number;
  unread: number;
  mentions: number;
  notify: NotifyLevel | null;
};

// change: a room change run by the message writer, in the room's order (room-changes.ts).
export function createRooms(db: Database, change: (op: string, args: unknown[]) => Promise<unknown>): Rooms {
  const q = prepare(db);
  const reads = prepareRoomReads(db);
  const changes =
    <T>(op: string) =>
    (...args: unknown[]) =>
      change(op, args) as Promise<T>;

  function roomForMember(roomId: number, userId: number): Room | null {
    if (!q.isMember.get(roomId, userId)) return null;
    const { archived: _, ...room } = reads.room(roomId)!;
    return room;
  }

  return {
    createRoom: changes("createRoom"),
    createGroup: changes("createGroup"),
    updateRoom: changes("updateRoom"),
    addMembers: changes("addMembers"),
    removeMember: changes("removeMember"),
    joinRoom: changes("joinRoom"),
    setRoomRetention: changes("setRoomRetention"),
    findRoomForMember: async (roomId, userId) => roomForMember(roomId, userId),
    // A room at a time: a few index lookups each on this connection, with no round trip.
    async findRoomsForMember(roomIds, userId) {
      return roomIds.map((id) => roomForMember(id, userId)).filter((r) => r !== null);
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
          ...toRoom(r, members.get(r.id) ?? []),
          lastMessage: r.lastMessageId === null ? null : toMessage(q.messageById.get(r.lastMessageId)!),
          unread: r.unread,
          mentions: r.mentions,
          notify: r.notify ?? defaultNotify(r.kind),
          lastActivity: r.lastActivity,
        }),
      );
    },
    async listMemberships(userId) {
      return groupMemberships(q.memberships.all(userId));
    },
    async listPublicRooms({ folded, limit, before }) {
      return q.publicRooms.all(before ?? Number.MAX_SAFE_INTEGER, folded, limit);
    },
    // Read first: a marker that would not advance takes no write lock and writes nothing.
    async markRead(roomId, userId, messageId) {
      const state = q.readState.get(roomId, userId);
      if (!state) return { marker: 0, unread: 0, mentions: 0 };
      if (Math.min(messageId, state.newest) > state.marker) q.advanceRead.get(roomId, userId, messageId);
      const after = q.readState.get(roomId, userId);
      return { marker: after?.marker ?? 0, unread: after?.unread ?? 0, mentions: after?.mentions ?? 0 };
    },
    async setRoomSettings(roomId, userId, settings) {
      const row = q.setNotify.get(settings.notify ?? null, roomId, userId);
      return row && { notify: row.notify ?? defaultNotify(row.kind) };
    },
  };
}

// The statements, prepared once.
function prepare(db: Database) {
  const isMember = db.query<{ one: number }, [number, number]>(
    "SELECT 1 AS one FROM room_members WHERE room_id = ? AND user_id = ?",
  );
  // Unread from counters (schema.sql): no message is counted here, whatever the room's size. Unread
  // mentions: the caller's mentions rows past the marker, a range of the table's primary key.
  const userRooms = db.query<RoomListRow, [number, number, number, number]>(
    `SELECT r.id, r.kind, r.name, r.topic, r.public, r.owner_id AS ownerId, r.seq, r.archived, r.retention,
       r.last_message_id AS lastMessageId, r.last_activity AS lastActivity, m.notify,
       (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread,
       (SELECT count(*) FROM mentions x WHERE x.user_id = ?1 AND x.room_id = r.id AND x.message_id > m.last_read_id)
         AS mentions
     FROM room_members m JOIN rooms r ON r.id = m.room_id
     WHERE m.user_id = ?1 AND (r.last_activity < ?2 OR (r.last_activity = ?2 AND r.id < ?3))
     ORDER BY r.last_activity DESC, r.id DESC LIMIT ?4`,
  );
  const roomsMembers = db.query<MemberRow, [string]>(
    `SELECT m.room_id AS roomId, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id IN (SELECT value FROM json_each(?)) ORDER BY m.room_id, m.position`,
  );
  const messageById = db.query<MessageRow, [number]>(`SELECT ${MESSAGE} FROM messages WHERE id = ?`);
  const readState = db.query<{ marker: number; newest: number; unread: number; mentions: number }, [number, number]>(
    `SELECT m.last_read_id AS marker, coalesce(r.last_message_id, 0) AS newest,
       (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread,
       (SELECT count(*) FROM mentions x WHERE x.user_id = ?2 AND x.room_id = ?1 AND x.message_id > m.last_read_id)
         AS mentions
     FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = ?1 AND m.user_id = ?2`,
  );
  // Never backwards, and never past the room's newest message (else later messages would arrive read).
  // The counters at the marker: at the newest message they are the room's and the member's totals;
  // short of it, what lies between the old and the new marker is counted once, so over a marker's
  // life each message is counted at most once whatever the calls.
  const advanceRead = db.query<{ marker: number }, [number, number, number]>(
    `UPDATE room_members SET last_read_id = t.target,
       read_count = CASE WHEN t.target = t.newest THEN t.total ELSE read_count + (SELECT count(*) FROM messages x
         WHERE x.room_id = ?1 AND x.id > room_members.last_read_id AND x.id <= t.target AND x.deleted_at IS NULL) END,
       read_sent = CASE WHEN t.target = t.newest THEN sent ELSE read_sent + (SELECT count(*) FROM messages x
         WHERE x.room_id = ?1 AND x.id > room_members.last_read_id AND x.id <= t.target AND x.deleted_at IS NULL AND x.user_id = ?2) END
     FROM (SELECT min(?3, coalesce(last_message_id, 0)) AS target, coalesce(last_message_id, 0) AS newest,
             message_count AS total FROM rooms WHERE id = ?1) AS t
     WHERE room_id = ?1 AND user_id = ?2 AND last_read_id < t.target
     RETURNING last_read_id AS marker`,
  );
  // notify null: unchanged (a settings call with retention only reads the level).
  const setNotify = db.query<{ notify: NotifyLevel | null; kind: RoomKind }, [NotifyLevel | null, number, number]>(
    `UPDATE room_members SET notify = coalesce(?1, notify) WHERE room_id = ?2 AND user_id = ?3
     RETURNING notify, (SELECT kind FROM rooms WHERE id = ?2) AS kind`,
  );
  // Newest first; a substring of the folded name (all when empty).
  const publicRooms = db.query<PublicRoom, [number, string, number]>(
    `SELECT r.id, r.name, r.topic, (SELECT count(*) FROM room_members m WHERE m.room_id = r.id) AS memberCount
     FROM rooms r WHERE r.public = 1 AND r.archived = 0 AND r.id < ?1 AND instr(r.name_folded, ?2) > 0
     ORDER BY r.id DESC LIMIT ?3`,
  );
  // One statement, so the seqs and the members are one snapshot.
  const memberships = db.query<MembershipRow, [number]>(
    `SELECT r.id, r.seq, o.user_id AS userId FROM room_members m JOIN rooms r ON r.id = m.room_id
     JOIN room_members o ON o.room_id = r.id WHERE m.user_id = ? ORDER BY r.id, o.position`,
  );
  return {
    isMember,
    publicRooms,
    memberships,
    userRooms,
    roomsMembers,
    messageById,
    readState,
    advanceRead,
    setNotify,
  };
}
