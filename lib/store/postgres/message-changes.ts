// Message changes on PostgreSQL: edits, deletes and reactions, each in one transaction that holds the room
// row (FOR UPDATE, as message batches and room changes do), takes the room's next seq and stores its event
// (never the text). The same rules as sqlite/message-changes.ts; here the code writes `search` too.
import type { SQL } from "bun";
import { findMentions } from "../../mentions.ts";
import { searchVector } from "../../search/tokens.ts";
import { react, reactionsText } from "../reactions.ts";
import type { Message, MessageChanged, MessageRefused, Store } from "../store.ts";
import { nextSeq, record, roomUsers } from "./room-changes.ts";
import { fileEpoch, message } from "./rows.ts";

type MessageChanges = Pick<Store, "editMessage" | "deleteMessage" | "setReaction">;
type Result = MessageChanged | MessageRefused;

// The room locked, then its live message, or why not.
async function live(tx: SQL, roomId: number, messageId: number): Promise<Message | MessageRefused> {
  await tx`SELECT id FROM rooms WHERE id = ${roomId} FOR UPDATE`;
  const [row] = await tx`SELECT *, ${fileEpoch(tx)} FROM messages WHERE id = ${messageId} AND room_id = ${roomId}`;
  if (!row || row.deleted_at !== null) return { refused: "message_not_found" };
  return message(row);
}

async function isMember(tx: SQL, roomId: number, userId: number): Promise<boolean> {
  const [row] = await tx`SELECT 1 FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
  return !!row;
}

async function read(tx: SQL, id: number): Promise<Message> {
  const [row] = await tx`SELECT *, ${fileEpoch(tx)} FROM messages WHERE id = ${id}`;
  return message(row);
}

async function setMentions(tx: SQL, m: Message, ids: number[]) {
  await tx`DELETE FROM mentions WHERE user_id = ANY(${m.mentions ?? []}::bigint[]) AND room_id = ${m.roomId}
    AND message_id = ${m.id}`;
  if (ids.length === 0) return;
  await tx`INSERT INTO mentions (user_id, room_id, message_id)
    SELECT unnest(${ids}::bigint[]), ${m.roomId}, ${m.id} ON CONFLICT DO NOTHING`;
}

// The unread counters (schema.sql) without the message: the room's count and newest live message, the
// sender's sent, and the counts at the markers at or past it.
async function uncount(tx: SQL, m: Message) {
  await tx`UPDATE rooms SET message_count = message_count - 1,
      last_message_id = CASE WHEN last_message_id = ${m.id}
        THEN (SELECT max(id) FROM messages WHERE room_id = ${m.roomId} AND deleted_at IS NULL) ELSE last_message_id END
    WHERE id = ${m.roomId}`;
  await tx`UPDATE room_members SET sent = sent - 1 WHERE room_id = ${m.roomId} AND user_id = ${m.userId}`;
  await tx`UPDATE room_members SET read_count = read_count - 1,
      read_sent = read_sent - CASE WHEN user_id = ${m.userId} THEN 1 ELSE 0 END
    WHERE room_id = ${m.roomId} AND last_read_id >= ${m.id}`;
}

export function createMessageChanges(sql: SQL): MessageChanges {
  return {
    editMessage: ({ roomId, messageId, userId, text, now }) =>
      sql.begin(async (tx): Promise<Result> => {
        const m = await live(tx, roomId, messageId);
        if ("refused" in m) return m;
        if (!(await isMember(tx, roomId, userId))) return { refused: "room_not_found" };
        if (m.userId !== userId) return { refused: "forbidden" };
        if (m.text === text) return { message: m, events: [] };
        const mentions = findMentions(text, await roomUsers(tx, roomId));
        await tx`UPDATE messages SET text = ${Buffer.from(text)}, edited_at = ${now},
            mentions = ${mentions.length ? JSON.stringify(mentions) : null}, search = ${searchVector(text)}::tsvector
          WHERE id = ${messageId}`;
        await setMentions(tx, m, mentions);
        const edited = await read(tx, messageId);
        const seq = await nextSeq(tx, roomId);
        return {
          message: edited,
          events: [await record(tx, { kind: "edit", roomId, seq, by: userId, message: edited }, now)],
        };
      }),
    deleteMessage: ({ roomId, messageId, by, moderator, now }) =>
      sql.begin(async (tx): Promise<Result> => {
        const m = await live(tx, roomId, messageId);
        if ("refused" in m) return m;
        if (m.userId !== by && !moderator) return { refused: "forbidden" };
        await tx`UPDATE messages SET text = ${Buffer.alloc(0)}, mentions = NULL, reactions = NULL, reply_to = NULL,
            deleted_at = ${now}, search = NULL, files = NULL WHERE id = ${messageId}`;
        // Its files' rows go with it; their bytes after the commit (the caller).
        const files = m.files ? await tx`DELETE FROM files WHERE message_id = ${messageId} RETURNING storage_key` : [];
        await setMentions(tx, m, []);
        await uncount(tx, m);
        const seq = await nextSeq(tx, roomId);
        const event = await record(tx, { kind: "delete", roomId, seq, by, messageId }, now);
        const removedFiles = files.map((f: { storage_key: string }) => f.storage_key);
        return { message: await read(tx, messageId), events: [event], removedFiles };
      }),
    setReaction: ({ roomId, messageId, userId, emoji, add, now, maxEmoji }) =>
      sql.begin(async (tx): Promise<Result> => {
        const m = await live(tx, roomId, messageId);
        if ("refused" in m) return m;
        if (!(await isMember(tx, roomId, userId))) return { refused: "room_not_found" };
        const reactions = react(m.reactions ?? [], emoji, userId, add, maxEmoji);
        if (reactions === "too_many") return { refused: "too_many_reactions" };
        if (reactions === null) return { message: m, events: [] };
        await tx`UPDATE messages SET reactions = ${reactionsText(reactions)} WHERE id = ${messageId}`;
        const seq = await nextSeq(tx, roomId);
        const event = await record(tx, { kind: "reaction", roomId, seq, by: userId, messageId, reactions }, now);
        return { message: await read(tx, messageId), events: [event] };
      }),
  };
}
