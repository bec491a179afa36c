// Files as the message writer attaches them (writer.worker.ts), inside a batch's transaction: each must be
// the sender's upload to the same room, attached to no message (nor to an earlier message of the batch);
// then its row points at the message and the message keeps a copy of their fields (messages.files).
import type { Database } from "bun:sqlite";
import { filesColumn } from "../message-columns.ts";
import type { FileRef } from "../store.ts";

type Ref = Omit<FileRef, "epoch">;
type FileRow = Ref & { roomId: number; userId: number; messageId: number | null };

export function prepareFileLinks(db: Database) {
  const byPublicId = db.query<FileRow, [string]>(
    `SELECT public_id AS publicId, room_id AS roomId, user_id AS userId, name, type, size, width, height,
       message_id AS messageId FROM files WHERE public_id = ?`,
  );
  const attach = db.query<never, [number, string]>("UPDATE files SET message_id = ? WHERE public_id = ?");
  const setFiles = db.query<never, [string, number]>("UPDATE messages SET files = ? WHERE id = ?");
  const roomEpoch = db.query<{ epoch: number }, [number]>("SELECT file_epoch AS epoch FROM rooms WHERE id = ?");
  return {
    // The files as the message will carry them, in the order given; null: one is not attachable.
    // taken: the files this batch attached already.
    check(roomId: number, userId: number, ids: string[], taken: Set<string>): Ref[] | null {
      const refs: Ref[] = [];
      for (const id of ids) {
        const f = byPublicId.get(id);
        if (!f || f.roomId !== roomId || f.userId !== userId || f.messageId !== null || taken.has(id)) return null;
        refs.push({ publicId: f.publicId, name: f.name, type: f.type, size: f.size, width: f.width, height: f.height });
      }
      return refs;
    },
    attach(messageId: number, roomId: number, refs: Ref[], taken: Set<string>): FileRef[] {
      for (const f of refs) {
        attach.run(messageId, f.publicId);
        taken.add(f.publicId);
      }
      setFiles.run(filesColumn(refs), messageId);
      const epoch = roomEpoch.get(roomId)?.epoch ?? 0;
      return refs.map((f) => ({ ...f, epoch }));
    },
  };
}
