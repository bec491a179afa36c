// A message row selected for the domain type (camelCase), for the main connection and the writer;
// toMessage sets the optional fields only when present (as the API's JSON has them).
import { withChanges } from "../message-fields.ts";
import type { Message } from "../store.ts";

export const MESSAGE =
  "id, room_id AS roomId, user_id AS userId, text, client_id AS clientId, created_at AS createdAt, seq, " +
  "edited_at AS editedAt, reply_to AS replyTo, mentions, reactions, deleted_at AS deletedAt";

export type MessageRow = Omit<Message, "editedAt" | "replyTo" | "mentions" | "reactions" | "deleted"> & {
  editedAt: number | null;
  replyTo: number | null;
  mentions: string | null;
  reactions: string | null;
  deletedAt: number | null;
};

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
  return withChanges(m, r.editedAt, r.replyTo, r.mentions, r.reactions, r.deletedAt);
}
