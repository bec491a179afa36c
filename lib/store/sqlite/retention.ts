// Retention on SQLite: a round of the sweep runs on the message writer's thread and connection, between
// batches, in one immediate transaction (the rules: ../retention.ts). The deleted texts leave the search index
// by its delete trigger; secure_delete zeroes them in the file and the writer truncates the WAL after the round,
// as after a message delete. Where rooms' kept history starts is read on the main connection.
import type { Database } from "bun:sqlite";
import { boundCut, expiredPrefix, mentionRows, uncounts } from "../retention.ts";
import type { Expired, ExpiryRound, HistoryStart } from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";

const NONE: Expired = { roomId: null, messages: 0, removedFiles: [], roomDone: true };

export function createRetention(db: Database) {
  const q = prepare(db);
  const round = db.transaction(({ serverSeconds, now, afterRoom, limit }: ExpiryRound): Expired => {
    const room = q.nextRoom.get(afterRoom, serverSeconds, now);
    if (!room) return NONE;
    const expired = expiredPrefix(q.oldest.all(room.id, limit).map(toMessage), now - room.retention * 1000, limit);
    if (expired.messages.length === 0) return { roomId: room.id, messages: 0, removedFiles: [], roomDone: true };
    const seqs = q.eventSeqs.all(room.id, expired.messages.at(-1)!.seq, limit).map((e) => e.seq);
    const cut = boundCut(expired, seqs, limit);
    q.deleteEvents.run(room.id, cut.eventsUpTo);
    if (cut.messages.length === 0) return { roomId: room.id, messages: 0, removedFiles: [], roomDone: false };
    const live = cut.messages.filter((m) => !m.deleted);
    const removedFiles: string[] = [];
    for (const m of live) if (m.files) removedFiles.push(...q.deleteFiles.all(m.id).map((f) => f.storageKey));
    for (const [userId, messageId] of mentionRows(live)) q.deleteMention.run(userId, room.id, messageId);
    for (const u of uncounts(live, q.members.all(room.id)))
      q.uncountMember.run(u.sent, u.read, u.readSent, room.id, u.userId);
    const last = cut.messages.at(-1)!.id;
    q.deleteMessages.run(room.id, last);
    q.uncountRoom.run(live.length, room.id, last);
    return { roomId: room.id, messages: live.length, removedFiles, roomDone: cut.roomDone };
  });
  return {
    has: (op: string) => op === "expireMessages",
    run: (round_: ExpiryRound) => round.immediate(round_),
  };
}
export type Retention = ReturnType<typeof createRetention>;

function prepare(db: Database) {
  return {
    // The first room after the cursor whose oldest message (tombstones too) is past its retention.
    nextRoom: db.query<{ id: number; retention: number }, [number, number, number]>(
      `SELECT r.id, coalesce(r.retention, ?2) AS retention FROM rooms r
       WHERE r.id > ?1 AND coalesce(r.retention, ?2) > 0
         AND (SELECT m.created_at FROM messages m WHERE m.room_id = r.id ORDER BY m.id LIMIT 1)
           < ?3 - coalesce(r.retention, ?2) * 1000
       ORDER BY r.id LIMIT 1`,
    ),
    oldest: db.query<MessageRow, [number, number]>(
      `SELECT ${MESSAGE} FROM messages WHERE room_id = ? ORDER BY id LIMIT ?`,
    ),
    eventSeqs: db.query<{ seq: number }, [number, number, number]>(
      "SELECT seq FROM room_events WHERE room_id = ? AND seq < ? ORDER BY seq LIMIT ?",
    ),
    deleteEvents: db.query<never, [number, number]>("DELETE FROM room_events WHERE room_id = ? AND seq <= ?"),
    deleteFiles: db.query<{ storageKey: string }, [number]>(
      "DELETE FROM files WHERE message_id = ? RETURNING storage_key AS storageKey",
    ),
    deleteMention: db.query<never, [number, number, number]>(
      "DELETE FROM mentions WHERE user_id = ? AND room_id = ? AND message_id = ?",
    ),
    members: db.query<{ userId: number; lastReadId: number }, [number]>(
      "SELECT user_id AS userId, last_read_id AS lastReadId FROM room_members WHERE room_id = ?",
    ),
    uncountMember: db.query<never, [number, number, number, number, number]>(
      `UPDATE room_members SET sent = sent - ?, read_count = read_count - ?, read_sent = read_sent - ?
       WHERE room_id = ? AND user_id = ?`,
    ),
    deleteMessages: db.query<never, [number, number]>("DELETE FROM messages WHERE room_id = ? AND id <= ?"),
    // The room's count, and its newest live message when the cut took it.
    uncountRoom: db.query<never, [number, number, number]>(
      `UPDATE rooms SET message_count = message_count - ?1,
         last_message_id = CASE WHEN last_message_id <= ?3
           THEN (SELECT max(id) FROM messages WHERE room_id = ?2 AND deleted_at IS NULL) ELSE last_message_id END
       WHERE id = ?2`,
    ),
  };
}

// On the main connection: a few primary-key reads per room.
export function prepareHistoryStarts(db: Database) {
  const firstEvent = db.query<{ seq: number }, [number]>(
    "SELECT seq FROM room_events WHERE room_id = ? ORDER BY seq LIMIT 1",
  );
  const firstMessage = db.query<{ id: number; seq: number }, [number]>(
    "SELECT id, seq FROM messages WHERE room_id = ? ORDER BY id LIMIT 1",
  );
  const roomSeq = db.query<{ seq: number }, [number]>("SELECT seq FROM rooms WHERE id = ?");
  return async (roomIds: number[]): Promise<Map<number, HistoryStart>> => {
    const out = new Map<number, HistoryStart>();
    for (const id of roomIds) {
      const e = firstEvent.get(id);
      const m = firstMessage.get(id);
      const seq = Math.min(e?.seq ?? Infinity, m?.seq ?? Infinity);
      out.set(id, { seq: seq === Infinity ? (roomSeq.get(id)?.seq ?? 0) + 1 : seq, messageId: m?.id ?? null });
    }
    return out;
  };
}
