// Files' rows and server settings on SQLite, on the serving connection (the writer attaches files to
// messages in its batches). The bytes live in the storage (lib/files), never here.
import type { Database } from "bun:sqlite";
import type { FoundFile, Store, StoredFile } from "../store.ts";

type Files = Pick<
  Store,
  "createFile" | "fileBytesUsed" | "filesStoredBytes" | "findFile" | "setting" | "deleteUnattachedFiles"
>;

export const FILE_COLUMNS = `f.public_id AS publicId, f.room_id AS roomId, f.user_id AS userId, f.name, f.type, f.size,
  f.width, f.height, f.sha256, f.storage_key AS storageKey, f.message_id AS messageId, f.created_at AS createdAt`;

type NewFile = Omit<StoredFile, "messageId">;

export function createFiles(db: Database): Files {
  const used = db.query<{ used: number }, [number]>(
    "SELECT coalesce(sum(size), 0) AS used FROM files WHERE user_id = ?",
  );
  const total = db.query<{ total: number }, []>("SELECT coalesce(sum(size), 0) AS total FROM files");
  const insert = db.query<
    never,
    [string, number, number, string, string, number, number | null, number | null, string, string, number]
  >(
    `INSERT INTO files (public_id, room_id, user_id, name, type, size, width, height, sha256, storage_key, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byPublicId = db.query<FoundFile, [string]>(
    `SELECT ${FILE_COLUMNS}, r.file_epoch AS fileEpoch FROM files f JOIN rooms r ON r.id = f.room_id WHERE f.public_id = ?`,
  );
  const insertSetting = db.query<never, [string, string]>(
    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
  );
  // One statement: a row the writer attaches meanwhile is either attached first (and kept) or deleted first
  // (and the attach finds no unattached file: invalid_files).
  const deleteUnattached = db.query<{ key: string }, [number, number]>(
    `DELETE FROM files WHERE id IN (SELECT id FROM files WHERE message_id IS NULL AND created_at < ?
       ORDER BY created_at LIMIT ?) RETURNING storage_key AS key`,
  );
  const readSetting = db.query<{ value: string }, [string]>("SELECT value FROM settings WHERE key = ?");
  const create = db.transaction((f: NewFile, quota: number): StoredFile | "quota_exceeded" => {
    if (used.get(f.userId)!.used + f.size > quota) return "quota_exceeded";
    insert.run(
      f.publicId,
      f.roomId,
      f.userId,
      f.name,
      f.type,
      f.size,
      f.width,
      f.height,
      f.sha256,
      f.storageKey,
      f.createdAt,
    );
    return { ...f, messageId: null };
  });
  return {
    async createFile(file, quota) {
      return create.immediate(file, quota);
    },
    async fileBytesUsed(userId) {
      return used.get(userId)!.used;
    },
    async filesStoredBytes() {
      return total.get()!.total;
    },
    async findFile(publicId) {
      return byPublicId.get(publicId);
    },
    async deleteUnattachedFiles(before, limit) {
      return deleteUnattached.all(before, limit).map((r) => r.key);
    },
    async setting(key, initial) {
      insertSetting.run(key, initial);
      return readSetting.get(key)!.value;
    },
  };
}
