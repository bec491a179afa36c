// A message's optional columns (schema 7) as the domain type's optional fields, shared by both dialects:
// each field is set only when its column is (null and absent alike mean unset), as the API's JSON shows them.
import type { FileRef, Message, Reaction } from "./store.ts";

export type OptionalColumns = {
  editedAt: number | null;
  replyTo: number | null;
  mentions: string | null; // JSON array of user ids
  reactions: string | null; // JSON [{"emoji", "user_ids"}]
  deletedAt: number | null;
  files: string | null; // JSON [{"id","name","type","size","width","height"}] (filesColumn)
  fileEpoch: number | null; // the room's file epoch, read with the message when files is set
};

type StoredRef = { id: string; name: string; type: string; size: number; width: number | null; height: number | null };

// A message's files as its files column stores them.
export const filesColumn = (files: readonly Omit<FileRef, "epoch">[]) =>
  JSON.stringify(
    files.map(
      (f): StoredRef => ({
        id: f.publicId,
        name: f.name,
        type: f.type,
        size: f.size,
        width: f.width,
        height: f.height,
      }),
    ),
  );

export function parseFiles(json: string, epoch: number): FileRef[] {
  return (JSON.parse(json) as StoredRef[]).map((f) => ({
    publicId: f.id,
    name: f.name,
    type: f.type,
    size: f.size,
    width: f.width,
    height: f.height,
    epoch,
  }));
}

// m gains the fields whose column is set; it is returned.
export function withOptionalColumns(m: Message, c: Partial<OptionalColumns>): Message {
  if (c.editedAt != null) m.editedAt = Number(c.editedAt);
  if (c.replyTo != null) m.replyTo = Number(c.replyTo);
  if (c.mentions != null) {
    const ids = JSON.parse(c.mentions) as number[];
    if (ids.length) m.mentions = ids;
  }
  if (c.reactions != null) {
    const list = JSON.parse(c.reactions) as { emoji: string; user_ids: number[] }[];
    if (list.length) m.reactions = list.map((r): Reaction => ({ emoji: r.emoji, userIds: r.user_ids }));
  }
  if (c.deletedAt != null) m.deleted = true;
  if (c.files != null) m.files = parseFiles(c.files, Number(c.fileEpoch ?? 0));
  return m;
}
