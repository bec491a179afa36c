// A message row selected as the domain type (camelCase), for the main connection and the writer: MESSAGE
// selects a MessageRow, toMessage makes it a Message (the optional fields only when set).
import { type OptionalColumns, withOptionalColumns } from "../message-columns.ts";
import type { Message } from "../store.ts";

export const MESSAGE =
  "id, room_id AS roomId, user_id AS userId, text, client_id AS clientId, created_at AS createdAt, seq, " +
  "edited_at AS editedAt, reply_to AS replyTo, mentions, reactions, deleted_at AS deletedAt, files, " +
  // The room's file epoch only for a message with files (signed URLs cover it): one primary-key read then.
  "CASE WHEN files IS NULL THEN NULL ELSE (SELECT file_epoch FROM rooms WHERE rooms.id = messages.room_id) END AS fileEpoch";

export type MessageRow = Pick<Message, "id" | "roomId" | "userId" | "text" | "clientId" | "createdAt" | "seq"> &
  OptionalColumns;

export function toMessage(r: MessageRow): Message {
  const m: Message = {
    id: r.id,
    roomId: r.roomId,
    userId: r.userId,
    text: r.text,
    clientId: r.clientId,
    createdAt: r.createdAt,
    seq: r.seq,
  };
  return withOptionalColumns(m, r);
}
