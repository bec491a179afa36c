// Rooms on PostgreSQL: reads (members in join order, room lists, the public directory) and read
// markers; changes are in room-changes.ts.
import type { SQL } from "bun";
import { groupMembersByRoom, groupMemberships, type MemberRow, NO_CURSOR } from "../members.ts";
import { defaultNotify, type ReadMarker, type RoomPage, type RoomSummary, type Store } from "../store.ts";
import { readRoom } from "./room-changes.ts";
import { message, type Row, room as toRoom, user } from "./rows.ts";

type Rooms = Pick<
  Store,
  | "findRoomForMember"
  | "findRoomsForMember"
  | "isMember"
  | "listRooms"
  | "listPublicRooms"
  | "listMemberships"
  | "markRead"
  | "setRoomSettings"
>;

export function createRooms(sql: SQL): Rooms {
  async function isMember(roomId: number, userId: number) {
    const rows = await sql`SELECT 1 FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
    return rows.length > 0;
  }

  return {
    async findRoomForMember(roomId, userId) {
      if (!(await isMember(roomId, userId))) return null;
      const found = await readRoom(sql, roomId);
      if (!found) return null;
      const { archived: _, ...room } = found;
      return room;
    },
    // One statement (a row per member, in join order), so each room's seq and members are one snapshot.
    async findRoomsForMember(roomIds, userId) {
      const rows =
        await sql`SELECT r.id, r.kind, r.name, r.topic, r.public, r.owner_id, r.seq, r.retention, u.id AS user_id, u.login
        FROM room_members me JOIN rooms r ON r.id = me.room_id
        JOIN room_members o ON o.room_id = r.id JOIN users u ON u.id = o.user_id
        WHERE me.user_id = ${userId} AND me.room_id = ANY(${roomIds}::bigint[]) ORDER BY r.id, o.position`;
      const users = groupMembersByRoom(
        rows.map((r: Row): MemberRow => ({ roomId: Number(r.id), id: Number(r.user_id), login: r.login })),
      );
      const rooms = new Map<number, Row>(rows.map((r: Row) => [Number(r.id), r]));
      return [...rooms].map(([id, r]) => toRoom(r, users.get(id)!));
    },
    isMember,
    async listRooms(userId, page) {
      const rooms = await userRooms(sql, userId, page);
      if (rooms.length === 0) return [];
      const byRoom = groupMembersByRoom(
        await roomsMembers(
          sql,
          rooms.map((r) => Number(r.id)),
        ),
      );
      return rooms.map(
        (r): RoomSummary => ({
          ...toRoom(r, byRoom.get(Number(r.id)) ?? []),
          lastMessage: r.m_id === null ? null : message(lastMessageRow(r)),
          unread: Number(r.unread),
          mentions: Number(r.mentions),
          notify: r.notify ?? defaultNotify(r.kind),
          lastActivity: Number(r.last_activity),
        }),
      );
    },
    async listMemberships(userId) {
      // One statement, so the seqs and the members are one snapshot.
      const rows = await sql`SELECT r.id, r.seq, o.user_id FROM room_members m JOIN rooms r ON r.id = m.room_id
        JOIN room_members o ON o.room_id = r.id WHERE m.user_id = ${userId} ORDER BY r.id, o.position`;
      return groupMemberships(
        rows.map((r: Row) => ({ id: Number(r.id), seq: Number(r.seq), userId: Number(r.user_id) })),
      );
    },
    async listPublicRooms({ folded, limit, before }) {
      const rows = await sql`SELECT r.id, r.name, r.topic,
          (SELECT count(*) FROM room_members m WHERE m.room_id = r.id) AS member_count
        FROM rooms r WHERE r.public AND NOT r.archived AND r.id < ${before ?? Number.MAX_SAFE_INTEGER}
          AND strpos(r.name_folded, ${folded}) > 0
        ORDER BY r.id DESC LIMIT ${limit}`;
      return rows.map((r: Row) => ({
        id: Number(r.id),
        name: r.name,
        topic: r.topic,
        memberCount: Number(r.member_count),
      }));
    },
    markRead: createReadMarkers(sql),
    async setRoomSettings(roomId, userId, settings) {
      // notify absent: unchanged (a settings call with retention only reads the level).
      const [row] = await sql`UPDATE room_members SET notify = coalesce(${settings.notify ?? null}, notify)
        WHERE room_id = ${roomId} AND user_id = ${userId}
        RETURNING notify, (SELECT kind FROM rooms WHERE id = ${roomId}) AS kind`;
      return row ? { notify: row.notify ?? defaultNotify(row.kind) } : null;
    },
  };
}

// A page of the user's rooms, newest activity first, each with its last message (m_* columns) and
// unread count from the counters (schema.sql): no message is counted here, whatever the room's size.
// Unread mentions: the caller's mentions rows past the marker, a range of the table's primary key.
async function userRooms(sql: SQL, userId: number, page: RoomPage): Promise<Row[]> {
  const { activity, id } = page.before ?? NO_CURSOR;
  return await sql`SELECT r.id, r.kind, r.name, r.topic, r.public, r.owner_id, r.seq, r.retention, r.last_activity, m.notify, l.id AS m_id, l.room_id AS m_room_id, l.user_id AS m_user_id,
      l.text AS m_text, l.client_id AS m_client_id, l.created_at AS m_created_at, l.seq AS m_seq,
      l.edited_at AS m_edited_at, l.reply_to AS m_reply_to, l.mentions AS m_mentions, l.reactions AS m_reactions,
      l.deleted_at AS m_deleted_at, l.files AS m_files, r.file_epoch AS m_file_epoch,
      (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread,
      (SELECT count(*) FROM mentions x WHERE x.user_id = ${userId} AND x.room_id = r.id
        AND x.message_id > m.last_read_id) AS mentions
    FROM room_members m JOIN rooms r ON r.id = m.room_id LEFT JOIN messages l ON l.id = r.last_message_id
    WHERE m.user_id = ${userId} AND (r.last_activity, r.id) < (${activity}::bigint, ${id}::bigint)
    ORDER BY r.last_activity DESC, r.id DESC LIMIT ${page.limit}`;
}

async function roomsMembers(sql: SQL, roomIds: number[]): Promise<MemberRow[]> {
  const rows = await sql`SELECT m.room_id, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
    WHERE m.room_id = ANY(${roomIds}::bigint[]) ORDER BY m.room_id, m.position`;
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
    seq: r.m_seq,
    edited_at: r.m_edited_at,
    reply_to: r.m_reply_to,
    mentions: r.m_mentions,
    reactions: r.m_reactions,
    deleted_at: r.m_deleted_at,
    files: r.m_files,
    file_epoch: r.m_file_epoch,
  };
}

// One user's markers in one room are applied in call order, as SQLite's single connection does,
// so the read events that report them come out in that order too.
function createReadMarkers(sql: SQL): Store["markRead"] {
  const chains = new Map<string, Promise<unknown>>();
  return (roomId, userId, messageId) => {
    const key = `${roomId}:${userId}`;
    const run = (chains.get(key) ?? Promise.resolve()).then(() => markRead(sql, roomId, userId, messageId));
    const tail = run.catch(() => {});
    chains.set(key, tail);
    void tail.then(() => chains.get(key) === tail && chains.delete(key));
    return run;
  };
}

// Read first: a marker that would not advance writes nothing. Else, as on SQLite: never backwards,
// never past the room's newest message, and the counters at the marker are the totals at the newest
// message, else grown by what lies between the old and the new marker (each message counted once
// over a marker's life). The room row is share-locked so that no message batch (which holds it for
// update) commits between reading the totals and writing them.
async function markRead(sql: SQL, roomId: number, userId: number, messageId: number): Promise<ReadMarker> {
  const marker = await advanceRead(sql, roomId, userId, messageId);
  const [row] = await sql`SELECT (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread,
      (SELECT count(*) FROM mentions x WHERE x.user_id = ${userId} AND x.room_id = ${roomId}
        AND x.message_id > m.last_read_id) AS mentions
    FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = ${roomId} AND m.user_id = ${userId}`;
  return { marker, unread: row ? Number(row.unread) : 0, mentions: row ? Number(row.mentions) : 0 };
}

async function advanceRead(sql: SQL, roomId: number, userId: number, messageId: number): Promise<number> {
  const [state] = await sql`SELECT m.last_read_id AS marker, COALESCE(r.last_message_id, 0) AS newest
    FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = ${roomId} AND m.user_id = ${userId}`;
  if (!state) return 0;
  if (Math.min(messageId, Number(state.newest)) <= Number(state.marker)) return Number(state.marker);
  return await sql.begin(async (tx) => {
    await tx`SELECT 1 FROM rooms WHERE id = ${roomId} FOR SHARE`;
    const [row] = await tx`UPDATE room_members m SET last_read_id = t.target,
        read_count = CASE WHEN t.target = t.newest THEN t.total ELSE m.read_count + (SELECT count(*) FROM messages x
          WHERE x.room_id = ${roomId} AND x.id > m.last_read_id AND x.id <= t.target AND x.deleted_at IS NULL) END,
        read_sent = CASE WHEN t.target = t.newest THEN m.sent ELSE m.read_sent + (SELECT count(*) FROM messages x
          WHERE x.room_id = ${roomId} AND x.id > m.last_read_id AND x.id <= t.target AND x.deleted_at IS NULL AND x.user_id = ${userId}) END
      FROM (SELECT LEAST(${messageId}::bigint, COALESCE(last_message_id, 0)) AS target,
              COALESCE(last_message_id, 0) AS newest, message_count AS total FROM rooms WHERE id = ${roomId}) t
      WHERE m.room_id = ${roomId} AND m.user_id = ${userId} AND m.last_read_id < t.target
      RETURNING m.last_read_id`;
    if (row) return Number(row.last_read_id);
    const [now] = await tx`SELECT last_read_id FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
    return now ? Number(now.last_read_id) : 0;
  });
}
