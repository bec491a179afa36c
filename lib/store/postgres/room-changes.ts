// Room changes on PostgreSQL: creation, names, members, each in one transaction that holds the room
// row (FOR UPDATE, as message batches do), takes the room's next seq and stores its event, so a room's
// frames commit in seq order whichever instance writes them. The same rules as sqlite/room-changes.ts.
import type { SQL } from "bun";
import { foldLogin } from "../../validate.ts";
import { memberKey } from "../members.ts";
import type {
  Changed,
  CreatedRoom,
  MemberRules,
  NewGroup,
  Refused,
  Room,
  RoomEvent,
  RoomRules,
  Store,
  User,
} from "../store.ts";
import { eventBody } from "../frames.ts";
import { room as toRoom, user } from "./rows.ts";

type RoomChanges = Pick<
  Store,
  "createRoom" | "createGroup" | "updateRoom" | "addMembers" | "removeMember" | "joinRoom" | "setRoomRetention"
>;

export async function roomUsers(sql: SQL, roomId: number): Promise<User[]> {
  const rows = await sql`SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
    WHERE m.room_id = ${roomId} ORDER BY m.position`;
  return rows.map(user);
}

// The room with its members; archived ones too (archived: true).
export async function readRoom(sql: SQL, roomId: number, lock = false): Promise<(Room & { archived: boolean }) | null> {
  const [r] = lock
    ? await sql`SELECT * FROM rooms WHERE id = ${roomId} FOR UPDATE`
    : await sql`SELECT * FROM rooms WHERE id = ${roomId}`;
  return r ? { ...toRoom(r, await roomUsers(sql, roomId)), archived: r.archived } : null;
}

async function current(tx: SQL, roomId: number): Promise<Room> {
  const { archived: _, ...room } = (await readRoom(tx, roomId))!;
  return room;
}

// The room's order: an event stored, and a room's next seq (the room row locked by the caller).
export async function record(tx: SQL, e: RoomEvent, now: number): Promise<RoomEvent> {
  await tx`INSERT INTO room_events (room_id, seq, kind, by_id, body, created_at)
    VALUES (${e.roomId}, ${e.seq}, ${e.kind}, ${e.by}, ${eventBody(e)}, ${now})`;
  return e;
}

export async function nextSeq(tx: SQL, roomId: number): Promise<number> {
  const [r] = await tx`UPDATE rooms SET seq = seq + 1 WHERE id = ${roomId} RETURNING seq`;
  return Number(r.seq);
}

async function membersEvent(tx: SQL, roomId: number, by: number, added: number[], removed: number[], now: number) {
  const seq = await nextSeq(tx, roomId);
  const room = await current(tx, roomId);
  return record(tx, { kind: "members", roomId, seq, users: room.users, added, removed, by, room }, now);
}

async function roomChangedEvent(tx: SQL, roomId: number, by: number, now: number) {
  const seq = await nextSeq(tx, roomId);
  return record(tx, { kind: "room", roomId, seq, room: await current(tx, roomId), by }, now);
}

// The users' rows are locked (in id order) first, so two changes that share a user run one after the
// other and neither takes the user past maxRooms. The first user already in maxRooms rooms, if any.
async function fullMember(tx: SQL, ids: number[], maxRooms: number): Promise<User | undefined> {
  await tx`SELECT id FROM users WHERE id = ANY(${ids}::bigint[]) ORDER BY id FOR NO KEY UPDATE`;
  const [full] = await tx`SELECT u.id, u.login FROM users u
    WHERE u.id = ANY(${ids}::bigint[])
      AND (SELECT count(*) FROM (SELECT 1 FROM room_members m WHERE m.user_id = u.id LIMIT ${maxRooms}) n) >= ${maxRooms}
    ORDER BY u.id LIMIT 1`;
  return full ? user(full) : undefined;
}

// The room locked, as `by` may act on it: a live group `by` is a member of.
async function actable(tx: SQL, roomId: number, by: number): Promise<Room | Refused> {
  const room = await readRoom(tx, roomId, true);
  if (!room || room.archived || !room.users.some((u) => u.id === by)) return { refused: "not_found" };
  if (room.kind !== "group") return { refused: "not_a_group" };
  return room;
}

async function addTo(tx: SQL, room: Room, by: number, ids: number[], now: number, rules: MemberRules) {
  const added = [...new Set(ids)].filter((id) => !room.users.some((u) => u.id === id));
  if (added.length === 0) return { room, events: [] };
  if (room.users.length + added.length > rules.maxUsers) return { refused: "too_many_users" } as const;
  const full = await fullMember(tx, added, rules.maxRooms);
  if (full) return { refused: "full", user: full } as const;
  for (const userId of added) await insertJoining(tx, room.id, userId);
  const event = await membersEvent(tx, room.id, by, added, [], now);
  return { room: await current(tx, room.id), events: [event] };
}

// A new user joins an invite's room (in the registration's transaction) if it is live and has room,
// last: the events of the join, or null. No room can hold a user made a moment ago, so a direct room's
// new member set is unique already.
export async function inviteJoin(tx: SQL, roomId: number, userId: number, now: number, maxUsers: number) {
  const room = await readRoom(tx, roomId, true);
  if (!room || room.archived || room.users.length === 0 || room.users.length >= maxUsers) return null;
  await insertJoining(tx, roomId, userId);
  if (room.kind === "direct") {
    await tx`UPDATE rooms SET member_key = ${memberKey([...room.users.map((u) => u.id), userId])} WHERE id = ${roomId}`;
  }
  return [await membersEvent(tx, roomId, userId, [userId], [], now)];
}

// A new member's read marker starts at the newest message: the history is there, not unread.
async function insertJoining(tx: SQL, roomId: number, userId: number) {
  await tx`INSERT INTO room_members (room_id, user_id, position, last_read_id, read_count)
    SELECT r.id, ${userId}, coalesce((SELECT max(position) + 1 FROM room_members WHERE room_id = r.id), 0),
      coalesce(r.last_message_id, 0), r.message_count FROM rooms r WHERE r.id = ${roomId}`;
}

async function insertMembers(tx: SQL, roomId: number, memberIds: number[]) {
  const members = memberIds.map((userId, position) => ({ room_id: roomId, user_id: userId, position }));
  await tx`INSERT INTO room_members ${tx(members)}`;
}

export function createRoomChanges(sql: SQL): RoomChanges {
  return {
    createRoom: (memberIds, now, { maxRooms, mayCreate }: RoomRules) =>
      sql.begin(async (tx): Promise<CreatedRoom> => {
        const key = memberKey(memberIds);
        await tx`SELECT id FROM users WHERE id = ANY(${memberIds}::bigint[]) ORDER BY id FOR NO KEY UPDATE`;
        const [existing] = await tx`SELECT id FROM rooms WHERE member_key = ${key}`;
        if (existing) return { room: await current(tx, Number(existing.id)), created: false, events: [] };
        if (!mayCreate) return { room: null, full: null };
        const full = await fullMember(tx, memberIds, maxRooms);
        if (full) return { room: null, full };
        const [created] = await tx`INSERT INTO rooms (member_key, created_at, last_activity)
          VALUES (${key}, ${now}, ${now}) RETURNING id`;
        const id = Number(created.id);
        await insertMembers(tx, id, memberIds);
        const event = await membersEvent(tx, id, memberIds[0]!, memberIds, [], now);
        return { room: await current(tx, id), created: true, events: [event] };
      }),
    createGroup: (g: NewGroup, now, { maxRooms, mayCreate }) =>
      sql.begin(async (tx): Promise<CreatedRoom> => {
        if (!mayCreate) return { room: null, full: null };
        const full = await fullMember(tx, g.memberIds, maxRooms);
        if (full) return { room: null, full };
        const [created] = await tx`INSERT INTO rooms
          (member_key, created_at, last_activity, kind, name, name_folded, topic, public, owner_id)
          VALUES (${`g:${crypto.randomUUID()}`}, ${now}, ${now}, 'group', ${g.name}, ${foldLogin(g.name)}, ${g.topic},
            ${g.public}, ${g.creatorId}) RETURNING id`;
        const id = Number(created.id);
        await insertMembers(tx, id, g.memberIds);
        const event = await membersEvent(tx, id, g.creatorId, g.memberIds, [], now);
        return { room: await current(tx, id), created: true, events: [event] };
      }),
    updateRoom: (roomId, by, change, now) =>
      sql.begin(async (tx): Promise<Changed | Refused> => {
        const room = await actable(tx, roomId, by);
        if ("refused" in room) return room;
        const name = change.name ?? room.name!;
        const topic = change.topic === undefined ? room.topic : change.topic;
        const pub = change.public ?? room.public;
        if (name === room.name && topic === room.topic && pub === room.public) return { room, events: [] };
        await tx`UPDATE rooms SET name = ${name}, name_folded = ${foldLogin(name)}, topic = ${topic}, public = ${pub}
          WHERE id = ${roomId}`;
        const event = await roomChangedEvent(tx, roomId, by, now);
        return { room: await current(tx, roomId), events: [event] };
      }),
    // Any live room, direct ones too (the caller checked who may).
    setRoomRetention: (roomId, by, retention, now) =>
      sql.begin(async (tx): Promise<Changed | Refused> => {
        const found = await readRoom(tx, roomId, true);
        if (!found || found.archived || !found.users.some((u) => u.id === by)) return { refused: "not_found" };
        const { archived: _, ...room } = found;
        if (room.retention === retention) return { room, events: [] };
        await tx`UPDATE rooms SET retention = ${retention} WHERE id = ${roomId}`;
        const event = await roomChangedEvent(tx, roomId, by, now);
        return { room: await current(tx, roomId), events: [event] };
      }),
    addMembers: (roomId, by, userIds, now, rules) =>
      sql.begin(async (tx): Promise<Changed | Refused> => {
        const room = await actable(tx, roomId, by);
        return "refused" in room ? room : addTo(tx, room, by, userIds, now, rules);
      }),
    joinRoom: (roomId, userId, now, rules) =>
      sql.begin(async (tx): Promise<Changed | Refused> => {
        const room = await readRoom(tx, roomId, true);
        if (!room || room.archived || room.kind !== "group") return { refused: "not_found" };
        if (!room.public && !room.users.some((u) => u.id === userId)) return { refused: "not_found" };
        return addTo(tx, room, userId, [userId], now, rules);
      }),
    removeMember: (roomId, userId, by, now) =>
      sql.begin(async (tx): Promise<Changed | Refused> => {
        const room = await actable(tx, roomId, by);
        if ("refused" in room) return room;
        if (!room.users.some((u) => u.id === userId)) return { refused: "not_member" };
        await tx`DELETE FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
        // Signed file URLs cover the epoch: the removed member's stop working (lib/files/signing.ts).
        await tx`UPDATE rooms SET file_epoch = file_epoch + 1 WHERE id = ${roomId}`;
        const events = [await membersEvent(tx, roomId, by, [], [userId], now)];
        if (room.ownerId === userId) {
          const [heir] = await tx`SELECT user_id FROM room_members WHERE room_id = ${roomId} ORDER BY position LIMIT 1`;
          await tx`UPDATE rooms SET owner_id = ${heir ? heir.user_id : null}, archived = ${!heir} WHERE id = ${roomId}`;
          if (heir) events.push(await roomChangedEvent(tx, roomId, by, now));
        }
        return { room: await current(tx, roomId), events };
      }),
  };
}
