// PostgreSQL rows as domain types. bigint columns arrive as strings; text and client_id are bytea.
import type { SQL } from "bun";
import { eventFromBody } from "../frames.ts";
import { withOptionalColumns } from "../message-columns.ts";
import type { Message, Room, RoomEvent, User } from "../store.ts";

export type Row = Record<string, any>;

// Selected beside a message's columns (alias: the messages table's name in the query): its room's file epoch,
// read only for a message with files (signed URLs cover it).
export const fileEpoch = (sql: SQL, alias = "messages") =>
  sql.unsafe(
    `CASE WHEN ${alias}.files IS NULL THEN NULL ELSE (SELECT file_epoch FROM rooms WHERE rooms.id = ${alias}.room_id) END AS file_epoch`,
  );

export function user(r: Row): User {
  return { id: Number(r.id), login: r.login };
}

// The optional fields only when their column is set (message-columns.ts).
export function message(r: Row): Message {
  const m: Message = {
    id: Number(r.id),
    roomId: Number(r.room_id),
    userId: Number(r.user_id),
    text: Buffer.from(r.text).toString(),
    clientId: r.client_id === null ? null : Buffer.from(r.client_id).toString(),
    createdAt: Number(r.created_at),
    seq: Number(r.seq),
  };
  return withOptionalColumns(m, {
    editedAt: r.edited_at,
    replyTo: r.reply_to,
    mentions: r.mentions,
    reactions: r.reactions,
    deletedAt: r.deleted_at,
    files: r.files ?? null,
    fileEpoch: r.file_epoch ?? null,
  });
}

export function room(r: Row, users: User[]): Room {
  return {
    id: Number(r.id),
    users,
    name: r.name,
    topic: r.topic,
    kind: r.kind,
    public: r.public,
    ownerId: r.owner_id === null ? null : Number(r.owner_id),
    seq: Number(r.seq),
    retention: r.retention == null ? null : Number(r.retention),
  };
}

export function roomEvent(r: Row, messages?: Map<number, Message>): RoomEvent {
  return eventFromBody(r.kind, Number(r.room_id), Number(r.seq), Number(r.by_id), r.body, messages);
}
