// Files as a message batch attaches them (messages.ts), under the room's lock as on SQLite
// (sqlite/file-links.ts): the sender's uploads to the same room, attached to no message yet.
import type { SQL } from "bun";
import { filesColumn } from "../message-columns.ts";
import type { FileRef } from "../store.ts";
import type { Row } from "./rows.ts";

type Ref = Omit<FileRef, "epoch">;

// The files as the message will carry them, in the order given; null: one is not attachable. taken: the
// files this batch attached already.
export async function checkFiles(
  tx: SQL,
  roomId: number,
  userId: number,
  ids: string[],
  taken: Set<string>,
): Promise<Ref[] | null> {
  const rows: Row[] = await tx`SELECT public_id, room_id, user_id, name, type, size, width, height, message_id
    FROM files WHERE public_id = ANY(${ids}::text[])`;
  const byId = new Map(rows.map((r) => [r.public_id as string, r]));
  const refs: Ref[] = [];
  for (const id of ids) {
    const r = byId.get(id);
    if (!r || Number(r.room_id) !== roomId || Number(r.user_id) !== userId) return null;
    if (r.message_id !== null || taken.has(id)) return null;
    const size = (v: unknown) => (v === null ? null : Number(v));
    refs.push({
      publicId: id,
      name: r.name,
      type: r.type,
      size: Number(r.size),
      width: size(r.width),
      height: size(r.height),
    });
  }
  return refs;
}

export async function attachFiles(
  tx: SQL,
  messageId: number,
  roomId: number,
  refs: Ref[],
  taken: Set<string>,
): Promise<FileRef[]> {
  const ids = refs.map((f) => f.publicId);
  await tx`UPDATE files SET message_id = ${messageId} WHERE public_id = ANY(${ids}::text[])`;
  await tx`UPDATE messages SET files = ${filesColumn(refs)} WHERE id = ${messageId}`;
  for (const id of ids) taken.add(id);
  const [{ file_epoch }] = await tx`SELECT file_epoch FROM rooms WHERE id = ${roomId}`;
  return refs.map((f) => ({ ...f, epoch: Number(file_epoch) }));
}
