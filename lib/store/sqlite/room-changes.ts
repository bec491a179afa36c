// Room changes on SQLite: creation, names, members. They run on the message writer's thread and
// connection (writer.worker.ts), in the same queue as message batches, so every durable frame of a
// room takes its seq, commits and is answered in one order, and the main thread publishes in that
// order too. Each change stores its event (room_events) in the same transaction.
import type { Database } from "bun:sqlite";
import { foldLogin } from "../../validate.ts";
import { memberKey } from "../members.ts";
import type {
  Changed,
  CreatedRoom,
  MemberRules,
  NewGroup,
  Refused,
  Room,
  RoomChange,
  RoomEvent,
  RoomRules,
  User,
} from "../store.ts";
import { eventBody } from "../frames.ts";
import { prepareRoomReads } from "./room-rows.ts";

// What the writer answers for a change: the result, and the new event's id (reads stop at it).
export type ChangeReply = { result: unknown; eventId: number };

// The room's order on the writer's connection: a room's next seq, and an event stored, its id kept (reads stop
// at the newest event answered). Room changes and message changes each keep one.
export function createEventLog(db: Database) {
  const nextSeq = db.query<{ seq: number }, [number]>("UPDATE rooms SET seq = seq + 1 WHERE id = ? RETURNING seq");
  const insert = db.query<never, [number, number, string, number, string, number]>(
    "INSERT INTO room_events (room_id, seq, kind, by_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  let lastId = 0;
  return {
    nextSeq: (roomId: number) => nextSeq.get(roomId)!.seq,
    record<E extends RoomEvent>(e: E, now: number): E {
      lastId = Number(insert.run(e.roomId, e.seq, e.kind, e.by, eventBody(e), now).lastInsertRowid);
      return e;
    },
    lastId: () => lastId,
  };
}

export function createRoomChanges(db: Database) {
  const q = prepare(db);
  const reads = prepareRoomReads(db);
  const log = createEventLog(db);
  const record = log.record;
  function membersEvent(roomId: number, by: number, added: number[], removed: number[], now: number) {
    const seq = log.nextSeq(roomId);
    const room = current(roomId);
    return record({ kind: "members", roomId, seq, users: room.users, added, removed, by, room }, now);
  }
  function roomEvent(roomId: number, by: number, now: number) {
    const seq = log.nextSeq(roomId);
    return record({ kind: "room", roomId, seq, room: current(roomId), by }, now);
  }
  const current = (roomId: number): Room => {
    const { archived: _, ...room } = reads.room(roomId)!;
    return room;
  };
  const fullMember = (ids: number[], maxRooms: number) =>
    ids.find((userId) => q.roomCount.get(userId, maxRooms)!.n >= maxRooms);
  // The room as `by` may act on it: a live room `by` is a member of.
  function actable(roomId: number, by: number): Room | Refused {
    const room = reads.room(roomId);
    if (!room || room.archived || !room.users.some((u) => u.id === by)) return { refused: "not_found" };
    if (room.kind !== "group") return { refused: "not_a_group" };
    return room;
  }
  function addTo(room: Room, by: number, userIds: number[], now: number, rules: MemberRules): Changed | Refused {
    const added = [...new Set(userIds)].filter((id) => !room.users.some((u) => u.id === id));
    if (added.length === 0) return { room, events: [] };
    if (room.users.length + added.length > rules.maxUsers) return { refused: "too_many_users" };
    const full = fullMember(added, rules.maxRooms);
    if (full !== undefined) return { refused: "full", user: q.userById.get(full)! };
    for (const userId of added) q.joinMember.run(room.id, userId);
    const event = membersEvent(room.id, by, added, [], now);
    return { room: current(room.id), events: [event] };
  }

  const changes = {
    createRoom(memberIds: number[], now: number, { maxRooms, mayCreate }: RoomRules): CreatedRoom {
      const key = memberKey(memberIds);
      const existing = q.roomByKey.get(key);
      if (existing) return { room: current(existing.id), created: false, events: [] };
      if (!mayCreate) return { room: null, full: null };
      const full = fullMember(memberIds, maxRooms);
      if (full !== undefined) return { room: null, full: q.userById.get(full)! };
      const { id } = q.insertRoom.get(key, now, now)!;
      memberIds.forEach((userId, position) => q.insertMember.run(id, userId, position));
      const event = membersEvent(id, memberIds[0]!, memberIds, [], now);
      return { room: current(id), created: true, events: [event] };
    },
    createGroup(g: NewGroup, now: number, { maxRooms, mayCreate }: RoomRules): CreatedRoom {
      if (!mayCreate) return { room: null, full: null };
      const full = fullMember(g.memberIds, maxRooms);
      if (full !== undefined) return { room: null, full: q.userById.get(full)! };
      const key = `g:${crypto.randomUUID()}`;
      const { id } = q.insertGroup.get(
        key,
        now,
        now,
        g.name,
        foldLogin(g.name),
        g.topic,
        g.public ? 1 : 0,
        g.creatorId,
      )!;
      g.memberIds.forEach((userId, position) => q.insertMember.run(id, userId, position));
      const event = membersEvent(id, g.creatorId, g.memberIds, [], now);
      return { room: current(id), created: true, events: [event] };
    },
    updateRoom(roomId: number, by: number, change: RoomChange, now: number): Changed | Refused {
      const room = actable(roomId, by);
      if ("refused" in room) return room;
      const next = { name: change.name ?? room.name!, topic: change.topic === undefined ? room.topic : change.topic };
      const pub = change.public ?? room.public;
      if (next.name === room.name && next.topic === room.topic && pub === room.public) return { room, events: [] };
      q.updateRoom.run(next.name, foldLogin(next.name), next.topic, pub ? 1 : 0, roomId);
      const event = roomEvent(roomId, by, now);
      return { room: current(roomId), events: [event] };
    },
    // Any live room, direct ones too (the caller checked who may).
    setRoomRetention(roomId: number, by: number, retention: number | null, now: number): Changed | Refused {
      const found = reads.room(roomId);
      if (!found || found.archived || !found.users.some((u) => u.id === by)) return { refused: "not_found" };
      const { archived: _, ...room } = found;
      if (room.retention === retention) return { room, events: [] };
      q.setRetention.run(retention, roomId);
      return { room: current(roomId), events: [roomEvent(roomId, by, now)] };
    },
    addMembers(roomId: number, by: number, userIds: number[], now: number, rules: MemberRules) {
      const room = actable(roomId, by);
      return "refused" in room ? room : addTo(room, by, userIds, now, rules);
    },
    joinRoom(roomId: number, userId: number, now: number, rules: MemberRules): Changed | Refused {
      const room = reads.room(roomId);
      if (!room || room.archived || room.kind !== "group") return { refused: "not_found" };
      if (!room.public && !room.users.some((u) => u.id === userId)) return { refused: "not_found" };
      return addTo(room, userId, [userId], now, rules);
    },
    // A new user joins an invite's room if it is live and has room, last. No room can hold a user made
    // a moment ago, so a direct room's new member set is unique already.
    inviteJoin(roomId: number, userId: number, now: number, maxUsers: number): Changed | Refused {
      const room = reads.room(roomId);
      if (!room || room.archived || room.users.length === 0) return { refused: "not_found" };
      if (room.users.length >= maxUsers) return { refused: "too_many_users" };
      q.joinMember.run(roomId, userId);
      if (room.kind === "direct") q.setMemberKey.run(memberKey([...room.users.map((u) => u.id), userId]), roomId);
      const event = membersEvent(roomId, userId, [userId], [], now);
      return { room: current(roomId), events: [event] };
    },
    // The owner leaving passes ownership to the member who joined first (a second event, "room");
    // the last member leaving archives the group.
    removeMember(roomId: number, userId: number, by: number, now: number): Changed | Refused {
      const room = actable(roomId, by);
      if ("refused" in room) return room;
      if (!room.users.some((u) => u.id === userId)) return { refused: "not_member" };
      q.deleteMember.run(roomId, userId);
      q.nextFileEpoch.run(roomId);
      const event = membersEvent(roomId, by, [], [userId], now);
      if (room.ownerId === userId) {
        const heir = q.firstMember.get(roomId);
        q.setOwner.run(heir?.userId ?? null, heir ? 0 : 1, roomId);
        if (heir) return { room: current(roomId), events: [event, roomEvent(roomId, by, now)] };
      }
      return { room: current(roomId), events: [event] };
    },
  };
  // Each change in one immediate transaction; the reply names the newest event id it stored.
  const run = db.transaction((op: keyof typeof changes, args: unknown[]) =>
    (changes[op] as (...a: unknown[]) => unknown)(...args),
  );
  return (op: string, args: unknown[]): ChangeReply => {
    if (!Object.hasOwn(changes, op)) throw new Error(`unknown room change ${op}`);
    const result = run.immediate(op as keyof typeof changes, args);
    return { result, eventId: log.lastId() };
  };
}
export type RoomChanges = ReturnType<typeof createRoomChanges>;

function prepare(db: Database) {
  return {
    roomByKey: db.query<{ id: number }, [string]>("SELECT id FROM rooms WHERE member_key = ?"),
    roomCount: db.query<{ n: number }, [number, number]>(
      "SELECT count(*) AS n FROM (SELECT 1 FROM room_members WHERE user_id = ? LIMIT ?)",
    ),
    userById: db.query<User, [number]>("SELECT id, login FROM users WHERE id = ?"),
    insertRoom: db.query<{ id: number }, [string, number, number]>(
      "INSERT INTO rooms (member_key, created_at, last_activity) VALUES (?, ?, ?) RETURNING id",
    ),
    insertGroup: db.query<{ id: number }, [string, number, number, string, string, string | null, number, number]>(
      `INSERT INTO rooms (member_key, created_at, last_activity, kind, name, name_folded, topic, public, owner_id)
       VALUES (?, ?, ?, 'group', ?, ?, ?, ?, ?) RETURNING id`,
    ),
    insertMember: db.query<never, [number, number, number]>(
      "INSERT INTO room_members (room_id, user_id, position) VALUES (?, ?, ?)",
    ),
    // A new member's read marker starts at the newest message: the history is there, not unread.
    joinMember: db.query<never, [number, number]>(
      `INSERT INTO room_members (room_id, user_id, position, last_read_id, read_count)
       SELECT ?1, ?2, coalesce((SELECT max(position) + 1 FROM room_members WHERE room_id = ?1), 0),
         coalesce(r.last_message_id, 0), r.message_count FROM rooms r WHERE r.id = ?1`,
    ),
    setRetention: db.query<never, [number | null, number]>("UPDATE rooms SET retention = ? WHERE id = ?"),
    setMemberKey: db.query<never, [string, number]>("UPDATE rooms SET member_key = ? WHERE id = ?"),
    deleteMember: db.query<never, [number, number]>("DELETE FROM room_members WHERE room_id = ? AND user_id = ?"),
    // Signed file URLs cover the epoch: the removed member's stop working (lib/files/signing.ts).
    nextFileEpoch: db.query<never, [number]>("UPDATE rooms SET file_epoch = file_epoch + 1 WHERE id = ?"),
    firstMember: db.query<{ userId: number }, [number]>(
      "SELECT user_id AS userId FROM room_members WHERE room_id = ? ORDER BY position LIMIT 1",
    ),
    setOwner: db.query<never, [number | null, number, number]>(
      "UPDATE rooms SET owner_id = ?, archived = ? WHERE id = ?",
    ),
    updateRoom: db.query<never, [string, string, string | null, number, number]>(
      "UPDATE rooms SET name = ?, name_folded = ?, topic = ?, public = ? WHERE id = ?",
    ),
  };
}
