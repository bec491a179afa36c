// Messages on SQLite: written by the writer worker (group commit, writer.ts), read on this connection,
// and the room's order (messages and room events by seq) read back for resumes.
import type { Database } from "bun:sqlite";
import type { Config } from "../../config.ts";
import type { RoomFrame, Store } from "../store.ts";
import { mergeFrames } from "../frames.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";
import { EVENT, type EventRow, toEvents } from "./room-rows.ts";
import { startMessageWriter } from "./writer.ts";

type Messages = Pick<Store, "createMessage" | "listMessages" | "listFrames" | "listRoomsFrames" | "latestSeqs"> & {
  change(op: string, args: unknown[]): Promise<unknown>;
  visibleUpTo(): number;
  close(): Promise<void>;
};

export function createMessages(db: Database, config: Config): Messages {
  // Reads stop at the newest message (and room event) handed back to the writer's callers: one
  // committed by the worker but not yet answered and published must not reach a resuming socket
  // before its publish. What was answered is a prefix of the writer's one commit order.
  // Deleted messages (tombstones) are skipped: history and backlogs never show them (docs/api.md).
  const latest = db.query<MessageRow, [number, number, number]>(
    `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id <= ? AND deleted_at IS NULL ORDER BY id DESC LIMIT ?`,
  );
  const before = db.query<MessageRow, [number, number, number, number]>(
    `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id < ? AND id <= ? AND deleted_at IS NULL
     ORDER BY id DESC LIMIT ?`,
  );
  const after = db.query<MessageRow, [number, number, number, number]>(
    `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id > ? AND id <= ? AND deleted_at IS NULL ORDER BY id LIMIT ?`,
  );
  const byIds = db.query<MessageRow, [string]>(
    `SELECT ${MESSAGE} FROM messages WHERE id IN (SELECT value FROM json_each(?))`,
  );
  // The newest message at or before a seq, walking messages_room back from the room's end (schema.sql).
  const boundary = db.query<{ id: number }, [number, number]>(
    "SELECT id FROM messages WHERE room_id = ? AND seq <= ? ORDER BY id DESC LIMIT 1",
  );
  const eventsAfter = db.query<EventRow, [number, number, number, number]>(
    `SELECT ${EVENT} FROM room_events WHERE room_id = ? AND seq > ? AND id <= ? ORDER BY seq LIMIT ?`,
  );
  const roomSeqs = db.query<{ id: number; seq: number }, [string]>(
    "SELECT id, seq FROM rooms WHERE id IN (SELECT value FROM json_each(?))",
  );
  const newestMessage = db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM messages");
  const newestEvent = db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM room_events");
  const writer = startMessageWriter(config, {
    message: newestMessage.get()!.id ?? 0,
    event: newestEvent.get()!.id ?? 0,
  });

  const readMessages = (ids: number[]) => byIds.all(JSON.stringify(ids)).map(toMessage);

  function listFrames(roomId: number, afterSeq: number, limit: number): RoomFrame[] {
    const from = afterSeq <= 0 ? 0 : (boundary.get(roomId, afterSeq)?.id ?? 0);
    const messages = after.all(roomId, from, writer.visibleUpTo(), limit).map(toMessage);
    const events = eventsAfter.all(roomId, afterSeq, writer.visibleEventsUpTo(), limit);
    return mergeFrames(messages, toEvents(events, readMessages), limit);
  }

  return {
    createMessage: writer.write,
    async listMessages(roomId, page) {
      const upTo = writer.visibleUpTo();
      if (page.after !== undefined) return after.all(roomId, page.after, upTo, page.limit).map(toMessage);
      const rows =
        page.before !== undefined
          ? before.all(roomId, page.before, upTo, page.limit)
          : latest.all(roomId, upTo, page.limit);
      return rows.reverse().map(toMessage);
    },
    listFrames: async (roomId, afterSeq, limit) => listFrames(roomId, afterSeq, limit),
    // A room at a time: each read is a few index lookups on this connection, with no round trip.
    async listRoomsFrames(afterSeqs, limit) {
      const out = new Map<number, RoomFrame[]>();
      for (const [roomId, afterSeq] of afterSeqs) out.set(roomId, listFrames(roomId, afterSeq, limit));
      return out;
    },
    async latestSeqs(roomIds) {
      return new Map(roomSeqs.all(JSON.stringify(roomIds)).map((r) => [r.id, r.seq]));
    },
    change: writer.change,
    visibleUpTo: writer.visibleUpTo,
    close: writer.close,
  };
}
