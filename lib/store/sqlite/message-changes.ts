// Message changes on SQLite: edits, deletes and reactions. Like room changes (room-changes.ts) they run on
// the message writer's thread and connection, between batches, each in one immediate transaction that
// takes the room's next seq and stores its event (never the text: it lives only in messages, so a delete
// erases every version). A delete also corrects the unread counters, the room's last message and the
// mentions rows; the search index follows the text by its triggers (schema.sql).
import type { Database } from "bun:sqlite";
import { findMentions } from "../../mentions.ts";
import { react, reactionsText } from "../reactions.ts";
import type {
  Message,
  MessageChanged,
  MessageDeletion,
  MessageEdit,
  MessageRefused,
  ReactionChange,
} from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";
import { type ChangeReply, createEventLog } from "./room-changes.ts";
import { prepareRoomReads } from "./room-rows.ts";

// erased: a delete committed; the writer truncates the WAL before it answers.
export type MessageChangeReply = ChangeReply & { erased: boolean };
type Result = MessageChanged | MessageRefused;

export function createMessageChanges(db: Database) {
  const q = prepare(db);
  const reads = prepareRoomReads(db);
  const { record, nextSeq, lastId } = createEventLog(db);
  const read = (id: number) => toMessage(q.messageById.get(id)!);
  // The live message of the room, or why not.
  function live(roomId: number, messageId: number): Message | MessageRefused {
    const row = q.messageById.get(messageId);
    if (!row || row.roomId !== roomId || row.deletedAt !== null) return { refused: "message_not_found" };
    return toMessage(row);
  }
  const isMember = (roomId: number, userId: number) => q.isMember.get(roomId, userId) !== null;
  function setMentions(m: Message, ids: number[]) {
    for (const userId of m.mentions ?? []) q.deleteMention.run(userId, m.roomId, m.id);
    for (const userId of ids) q.insertMention.run(userId, m.roomId, m.id);
  }

  const ops = {
    editMessage({ roomId, messageId, userId, text, now }: MessageEdit): Result {
      const m = live(roomId, messageId);
      if ("refused" in m) return m;
      if (!isMember(roomId, userId)) return { refused: "room_not_found" };
      if (m.userId !== userId) return { refused: "forbidden" };
      if (m.text === text) return { message: m, events: [] };
      const mentions = findMentions(text, reads.users(roomId));
      q.edit.run(text, now, mentions.length ? JSON.stringify(mentions) : null, messageId);
      setMentions(m, mentions);
      const message = read(messageId);
      return { message, events: [record({ kind: "edit", roomId, seq: nextSeq(roomId), by: userId, message }, now)] };
    },
    deleteMessage({ roomId, messageId, by, moderator, now }: MessageDeletion): Result {
      const m = live(roomId, messageId);
      if ("refused" in m) return m;
      if (m.userId !== by && !moderator) return { refused: "forbidden" };
      q.erase.run(now, messageId);
      const removedFiles = m.files ? q.deleteFiles.all(messageId).map((f) => f.storageKey) : [];
      setMentions(m, []);
      q.uncount.run(messageId, roomId);
      q.unsent.run(roomId, m.userId);
      q.unread.run(m.userId, roomId, messageId);
      const event = record({ kind: "delete", roomId, seq: nextSeq(roomId), by, messageId }, now);
      return { message: read(messageId), events: [event], removedFiles };
    },
    setReaction({ roomId, messageId, userId, emoji, add, now, maxEmoji }: ReactionChange): Result {
      const m = live(roomId, messageId);
      if ("refused" in m) return m;
      if (!isMember(roomId, userId)) return { refused: "room_not_found" };
      const reactions = react(m.reactions ?? [], emoji, userId, add, maxEmoji);
      if (reactions === "too_many") return { refused: "too_many_reactions" };
      if (reactions === null) return { message: m, events: [] };
      q.react.run(reactionsText(reactions), messageId);
      const event = record({ kind: "reaction", roomId, seq: nextSeq(roomId), by: userId, messageId, reactions }, now);
      return { message: read(messageId), events: [event] };
    },
  };
  const run = db.transaction((op: keyof typeof ops, arg: never) => ops[op](arg));
  return {
    has: (op: string) => Object.hasOwn(ops, op),
    run(op: string, args: unknown[]): MessageChangeReply {
      const before = lastId();
      const result = run.immediate(op as keyof typeof ops, args[0] as never);
      const erased = op === "deleteMessage" && lastId() !== before;
      return { result, eventId: lastId(), erased };
    },
  };
}
export type MessageChanges = ReturnType<typeof createMessageChanges>;

function prepare(db: Database) {
  return {
    messageById: db.query<MessageRow, [number]>(`SELECT ${MESSAGE} FROM messages WHERE id = ?`),
    isMember: db.query<{ one: number }, [number, number]>(
      "SELECT 1 AS one FROM room_members WHERE room_id = ? AND user_id = ?",
    ),
    edit: db.query<never, [string, number, string | null, number]>(
      "UPDATE messages SET text = ?, edited_at = ?, mentions = ? WHERE id = ?",
    ),
    // The tombstone: id, room, sender, seq, time, client_id and the last edit's time stay.
    erase: db.query<never, [number, number]>(
      `UPDATE messages SET text = '', mentions = NULL, reactions = NULL, reply_to = NULL, files = NULL, deleted_at = ?
       WHERE id = ?`,
    ),
    // A deleted message's files: their rows go in its transaction, their bytes after (the caller).
    deleteFiles: db.query<{ storageKey: string }, [number]>(
      "DELETE FROM files WHERE message_id = ? RETURNING storage_key AS storageKey",
    ),
    react: db.query<never, [string | null, number]>("UPDATE messages SET reactions = ? WHERE id = ?"),
    insertMention: db.query<never, [number, number, number]>(
      "INSERT OR IGNORE INTO mentions (user_id, room_id, message_id) VALUES (?, ?, ?)",
    ),
    deleteMention: db.query<never, [number, number, number]>(
      "DELETE FROM mentions WHERE user_id = ? AND room_id = ? AND message_id = ?",
    ),
    // The unread counters (schema.sql) without the message: the room's count and newest live message,
    // the sender's sent, and the counts at the markers at or past it.
    uncount: db.query<never, [number, number]>(
      `UPDATE rooms SET message_count = message_count - 1,
         last_message_id = CASE WHEN last_message_id = ?1
           THEN (SELECT max(id) FROM messages WHERE room_id = ?2 AND deleted_at IS NULL) ELSE last_message_id END
       WHERE id = ?2`,
    ),
    unsent: db.query<never, [number, number]>(
      "UPDATE room_members SET sent = sent - 1 WHERE room_id = ? AND user_id = ?",
    ),
    unread: db.query<never, [number, number, number]>(
      `UPDATE room_members SET read_count = read_count - 1, read_sent = read_sent - (user_id = ?1)
       WHERE room_id = ?2 AND last_read_id >= ?3`,
    ),
  };
}
