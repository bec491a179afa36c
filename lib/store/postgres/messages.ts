// Messages on PostgreSQL: written in batches through the shared group-commit queue, one batch (one
// transaction) at a time, under per-room row locks, so ids commit in increasing order within a room.
import type { SQL } from "bun";
import { createCommitQueue } from "../commit-queue.ts";
import {
  CLIENT_ID_WINDOW,
  type Message,
  type NewMessage,
  type RoomEvent,
  type Store,
  type Stored,
  type User,
} from "../store.ts";
import { editedIds, mergeFrames, mergeRoomsFrames, readable } from "../frames.ts";
import { memberOnly, type NotStored } from "../members.ts";
import { fileEpoch, message, type Row, roomEvent, user } from "./rows.ts";
import { attachFiles, checkFiles } from "./file-links.ts";
import { searchVector } from "../../search/tokens.ts";
import { findMentions } from "../../mentions.ts";

type Messages = Pick<Store, "createMessage" | "listMessages" | "listFrames" | "listRoomsFrames" | "latestSeqs"> & {
  drain(): Promise<void>;
};

// mapError: what a failed batch rejects with (a lost connection becomes ApiError("unavailable")).
export function createMessages(sql: SQL, mapError: (e: unknown) => unknown): Messages {
  const queue = createCommitQueue(
    (batch: NewMessage[]) => sql.begin((tx) => writeBatch(tx, batch)).catch((e) => Promise.reject(mapError(e))),
    1,
  );
  return {
    createMessage: (input) => queue.write(input).then(memberOnly),
    async listMessages(roomId, page) {
      if (page.after !== undefined) {
        const rows =
          await sql`SELECT *, ${fileEpoch(sql)} FROM messages WHERE room_id = ${roomId} AND id > ${page.after} AND deleted_at IS NULL ORDER BY id LIMIT ${page.limit}`;
        return rows.map(message);
      }
      const rows =
        page.before !== undefined
          ? await sql`SELECT *, ${fileEpoch(sql)} FROM messages WHERE room_id = ${roomId} AND id < ${page.before} AND deleted_at IS NULL ORDER BY id DESC LIMIT ${page.limit}`
          : await sql`SELECT *, ${fileEpoch(sql)} FROM messages WHERE room_id = ${roomId} AND deleted_at IS NULL ORDER BY id DESC LIMIT ${page.limit}`;
      return rows.map(message).reverse();
    },
    // From after the newest message at or before the seq (schema.sql: no index on seq).
    async listFrames(roomId, afterSeq, limit) {
      const [b] =
        afterSeq <= 0
          ? [undefined]
          : await sql`SELECT id FROM messages WHERE room_id = ${roomId} AND seq <= ${afterSeq} ORDER BY id DESC LIMIT 1`;
      const from = b ? Number(b.id) : 0;
      const [messages, events] = await Promise.all([
        sql`SELECT *, ${fileEpoch(sql)} FROM messages WHERE room_id = ${roomId} AND id > ${from} AND deleted_at IS NULL ORDER BY id LIMIT ${limit}`,
        sql`SELECT * FROM room_events WHERE room_id = ${roomId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`,
      ]);
      return mergeFrames(messages.map(message), await toEvents(sql, events), limit);
    },
    // listFrames for all the rooms in two statements (one per table), a LATERAL read per room.
    async listRoomsFrames(afterSeqs, limit) {
      if (afterSeqs.size === 0) return new Map();
      const rooms = [...afterSeqs.keys()];
      const afters = [...afterSeqs.values()];
      const [messages, events] = await Promise.all([
        roomsMessages(sql, rooms, afters, limit),
        sql`SELECT e.* FROM unnest(${rooms}::bigint[], ${afters}::bigint[]) AS a(room_id, after_seq)
          CROSS JOIN LATERAL (SELECT * FROM room_events e WHERE e.room_id = a.room_id AND e.seq > a.after_seq
            ORDER BY e.seq LIMIT ${limit}) e
          ORDER BY e.room_id, e.seq`,
      ]);
      return mergeRoomsFrames(rooms, messages.map(message), await toEvents(sql, events), limit);
    },
    async latestSeqs(roomIds) {
      const rows = await sql`SELECT id, seq FROM rooms WHERE id = ANY(${roomIds}::bigint[])`;
      return new Map(rows.map((r: Row) => [Number(r.id), Number(r.seq)]));
    },
    drain: queue.drain,
  };
}

// Events as read back: an edit's message is read now (its event stores only the id): a tombstone if
// it was deleted since.
async function toEvents(sql: SQL, rows: Row[]): Promise<RoomEvent[]> {
  const ids = editedIds(rows as { kind: string; body: string }[]);
  const found =
    ids.length === 0 ? [] : await sql`SELECT *, ${fileEpoch(sql)} FROM messages WHERE id = ANY(${ids}::bigint[])`;
  const messages = new Map<number, Message>(found.map((r: Row) => [Number(r.id), message(r)]));
  return rows.map((r) => roomEvent(r, messages)).filter(readable);
}

// Each room's messages after its seq, as listFrames reads them: from after the newest message at or
// before the seq (b, none for a seq of 0), by messages_room.
function roomsMessages(sql: SQL, rooms: number[], afters: number[], limit: number): Promise<Row[]> {
  return sql`SELECT m.* FROM unnest(${rooms}::bigint[], ${afters}::bigint[]) AS a(room_id, after_seq)
    CROSS JOIN LATERAL (SELECT coalesce(max(b.id), 0) AS from_id FROM (SELECT id FROM messages
      WHERE a.after_seq > 0 AND room_id = a.room_id AND seq <= a.after_seq ORDER BY id DESC LIMIT 1) b) f
    CROSS JOIN LATERAL (SELECT *, ${fileEpoch(sql, "m")} FROM messages m WHERE m.room_id = a.room_id AND m.id > f.from_id
      AND m.deleted_at IS NULL ORDER BY m.id LIMIT ${limit}) m
    ORDER BY m.room_id, m.id`;
}

// Lock the batch's rooms in id order (no deadlock between instances), then insert. The room's seq read
// under the lock is where the batch's messages continue the room's order (schema.sql).
async function writeBatch(tx: SQL, batch: NewMessage[]): Promise<(Stored | NotStored)[]> {
  const seqs = await lockRooms(tx, batch);
  const members = await stillMembers(tx, batch);
  const touched = new Map<number, { last: Message; n: number }>();
  const senders = new Map<string, [roomId: number, userId: number, sent: number]>();
  const mentionsIn = mentionsFor(tx);
  const mentionRows: [userId: number, roomId: number, messageId: number][] = [];
  const out: (Stored | NotStored)[] = [];
  const taken = new Set<string>(); // files attached by this batch
  for (const input of batch) {
    if (!members.has(`${input.roomId}:${input.userId}`)) {
      out.push(null); // removed from the room while the message waited in the queue
      continue;
    }
    const earlier = input.clientId === null ? undefined : await findEarlier(tx, input);
    if (earlier) {
      out.push({ message: message(earlier), duplicate: true });
      continue;
    }
    if (input.replyTo && !(await liveInRoom(tx, input.replyTo, input.roomId))) {
      out.push("message_not_found");
      continue;
    }
    const refs = input.files?.length ? await checkFiles(tx, input.roomId, input.userId, input.files, taken) : null;
    if (input.files?.length && refs === null) {
      out.push("invalid_files");
      continue;
    }
    const seq = seqs.get(input.roomId)! + 1;
    seqs.set(input.roomId, seq);
    // A text without "@" pays one includes() for mentions.
    const mentioned = input.text.includes("@") ? await mentionsIn(input.roomId, input.text) : [];
    const m = await insertMessage(tx, input, seq, mentioned);
    if (refs) m.files = await attachFiles(tx, m.id, input.roomId, refs, taken);
    for (const user of mentioned) if (user !== input.userId) mentionRows.push([user, input.roomId, m.id]);
    out.push({ message: m, duplicate: false });
    touched.set(input.roomId, { last: m, n: (touched.get(input.roomId)?.n ?? 0) + 1 });
    const key = `${input.roomId}:${input.userId}`;
    const sender = senders.get(key);
    if (sender) sender[2]++;
    else senders.set(key, [input.roomId, input.userId, 1]);
  }
  for (const [roomId, { last: m, n }] of touched) {
    await tx`UPDATE rooms SET last_message_id = ${m.id}, last_activity = ${m.createdAt},
      message_count = message_count + ${n}, seq = ${m.seq} WHERE id = ${roomId}`;
  }
  if (senders.size > 0) await countSent(tx, [...senders.values()]);
  if (mentionRows.length > 0) await insertMentions(tx, mentionRows);
  return out;
}

// A reply's message: a live (undeleted) message of the same room, read under the room's lock.
async function liveInRoom(tx: SQL, id: number, roomId: number): Promise<boolean> {
  const rows = await tx`SELECT 1 FROM messages WHERE id = ${id} AND room_id = ${roomId} AND deleted_at IS NULL`;
  return rows.length > 0;
}

// For one batch: who a text mentions (lib/mentions.ts) among the room's members, read once per room under
// the room's lock, which membership changes take too.
function mentionsFor(tx: SQL) {
  const members = new Map<number, User[]>();
  return async (roomId: number, text: string): Promise<number[]> => {
    let users = members.get(roomId);
    if (!users) {
      const rows: Row[] = await tx`SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
        WHERE m.room_id = ${roomId}`;
      users = rows.map(user);
      members.set(roomId, users);
    }
    return findMentions(text, users);
  };
}

// Unread mention counts (GET /v1/rooms): a row per mentioned member but the sender, whose own messages
// are never unread; one statement per batch.
async function insertMentions(tx: SQL, rows: [userId: number, roomId: number, messageId: number][]) {
  await tx`INSERT INTO mentions (user_id, room_id, message_id)
    SELECT * FROM unnest(${rows.map((r) => r[0])}::bigint[], ${rows.map((r) => r[1])}::bigint[],
      ${rows.map((r) => r[2])}::bigint[])`;
}

// The unread counters (schema.sql): each sender's, once per batch in one statement, never per member.
async function countSent(tx: SQL, senders: [roomId: number, userId: number, sent: number][]) {
  await tx`UPDATE room_members m SET sent = m.sent + c.n
    FROM (SELECT unnest(${senders.map((s) => s[0])}::bigint[]) AS room_id,
                 unnest(${senders.map((s) => s[1])}::bigint[]) AS user_id,
                 unnest(${senders.map((s) => s[2])}::bigint[]) AS n) c
    WHERE m.room_id = c.room_id AND m.user_id = c.user_id`;
}

// Each room's seq, read under the room's row lock.
async function lockRooms(tx: SQL, batch: NewMessage[]): Promise<Map<number, number>> {
  const roomIds = [...new Set(batch.map((m) => m.roomId))].sort((a, b) => a - b);
  const locked = await tx`SELECT id, seq FROM rooms WHERE id = ANY(${roomIds}::bigint[]) ORDER BY id FOR UPDATE`;
  return new Map(locked.map((r: Row) => [Number(r.id), Number(r.seq)]));
}

// The batch's (room, sender) pairs still in their rooms, in one statement under the rooms' locks, which a
// removal takes too: it committed before (the sender is refused) or waits for this batch.
async function stillMembers(tx: SQL, batch: NewMessage[]): Promise<Set<string>> {
  const pairs = new Map(batch.map((m) => [`${m.roomId}:${m.userId}`, m]));
  const rooms = [...pairs.values()].map((m) => m.roomId);
  const users = [...pairs.values()].map((m) => m.userId);
  const rows = await tx`SELECT m.room_id, m.user_id FROM room_members m
    JOIN (SELECT unnest(${rooms}::bigint[]) AS room_id, unnest(${users}::bigint[]) AS user_id) p
      ON m.room_id = p.room_id AND m.user_id = p.user_id`;
  return new Set(rows.map((r: Row) => `${r.room_id}:${r.user_id}`));
}

async function insertMessage(tx: SQL, input: NewMessage, seq: number, mentioned: number[]): Promise<Message> {
  const clientId = input.clientId === null ? null : Buffer.from(input.clientId);
  const replyTo = input.replyTo || null;
  const mentions = mentioned.length ? JSON.stringify(mentioned) : null;
  const [row] = await tx`INSERT INTO messages (room_id, user_id, text, client_id, created_at, seq, search, reply_to,
      mentions)
    VALUES (${input.roomId}, ${input.userId}, ${Buffer.from(input.text)}, ${clientId}, ${input.now}, ${seq},
      ${searchVector(input.text)}::tsvector, ${replyTo}, ${mentions}) RETURNING id`;
  const m: Message = {
    id: Number(row.id),
    roomId: input.roomId,
    userId: input.userId,
    text: input.text,
    clientId: input.clientId,
    createdAt: input.now,
    seq,
  };
  if (replyTo !== null) m.replyTo = replyTo;
  if (mentions !== null) m.mentions = mentioned;
  return m;
}

// The sender's earlier message with this client_id in the room, while the sender has stored fewer
// than CLIENT_ID_WINDOW other messages with a client_id in that room since: the rule of docs/api.md,
// as the SQLite writer keeps it. The count runs only for a match, that is for a retry.
async function findEarlier(tx: SQL, input: NewMessage): Promise<Row | undefined> {
  const { roomId, userId } = input;
  const [earlier] = await tx`SELECT *, ${fileEpoch(tx, "e")} FROM messages e
    WHERE room_id = ${roomId} AND user_id = ${userId} AND client_id = ${Buffer.from(input.clientId!)}
      AND (SELECT count(*) FROM (SELECT FROM messages x WHERE x.room_id = ${roomId} AND x.user_id = ${userId}
             AND x.client_id IS NOT NULL AND x.id > e.id LIMIT ${CLIENT_ID_WINDOW}) later) < ${CLIENT_ID_WINDOW}
    ORDER BY id DESC LIMIT 1`;
  return earlier;
}
