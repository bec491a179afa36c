// Files' rows and server settings on PostgreSQL, as on SQLite (sqlite/files.ts).
import type { SQL } from "bun";
import type { FoundFile, Store, StoredFile } from "../store.ts";

type Files = Pick<
  Store,
  "createFile" | "fileBytesUsed" | "filesStoredBytes" | "findFile" | "setting" | "deleteUnattachedFiles"
>;

// A files row (with r.file_epoch when joined) as the domain type.
export function toStoredFile(row: Record<string, any>): StoredFile {
  return {
    publicId: row.public_id,
    roomId: Number(row.room_id),
    userId: Number(row.user_id),
    name: row.name,
    type: row.type,
    size: Number(row.size),
    width: row.width === null ? null : Number(row.width),
    height: row.height === null ? null : Number(row.height),
    sha256: row.sha256,
    storageKey: row.storage_key,
    messageId: row.message_id === null ? null : Number(row.message_id),
    createdAt: Number(row.created_at),
  };
}

export function createFiles(sql: SQL): Files {
  return {
    async createFile(f, quota) {
      return sql.begin(async (tx) => {
        // One upload at a time per user settles the quota: the sum is read under this user's lock.
        await tx`SELECT pg_advisory_xact_lock(${0x66696c65}, ${f.userId})`;
        const [{ used }] = await tx`SELECT coalesce(sum(size), 0) AS used FROM files WHERE user_id = ${f.userId}`;
        if (Number(used) + f.size > quota) return "quota_exceeded" as const;
        await tx`INSERT INTO files (public_id, room_id, user_id, name, type, size, width, height, sha256, storage_key,
          created_at) VALUES (${f.publicId}, ${f.roomId}, ${f.userId}, ${f.name}, ${f.type}, ${f.size}, ${f.width},
          ${f.height}, ${f.sha256}, ${f.storageKey}, ${f.createdAt})`;
        return { ...f, messageId: null };
      });
    },
    async fileBytesUsed(userId) {
      const [{ used }] = await sql`SELECT coalesce(sum(size), 0) AS used FROM files WHERE user_id = ${userId}`;
      return Number(used);
    },
    async filesStoredBytes() {
      const [{ total }] = await sql`SELECT coalesce(sum(size), 0) AS total FROM files`;
      return Number(total);
    },
    async findFile(publicId) {
      const [row] = await sql`SELECT f.*, r.file_epoch FROM files f JOIN rooms r ON r.id = f.room_id
        WHERE f.public_id = ${publicId}`;
      return row ? ({ ...toStoredFile(row), fileEpoch: Number(row.file_epoch) } satisfies FoundFile) : null;
    },
    // Rows an attach holds (under its room lock) are skipped, and the outer condition is checked again on the
    // row as it is when deleted: an attached file is never swept.
    async deleteUnattachedFiles(before, limit) {
      const rows = await sql`DELETE FROM files WHERE id IN (SELECT id FROM files WHERE message_id IS NULL
        AND created_at < ${before} ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        AND message_id IS NULL RETURNING storage_key`;
      return rows.map((r: { storage_key: string }) => r.storage_key);
    },
    async setting(key, initial) {
      await sql`INSERT INTO settings (key, value) VALUES (${key}, ${initial}) ON CONFLICT DO NOTHING`;
      const [{ value }] = await sql`SELECT value FROM settings WHERE key = ${key}`;
      return value;
    },
  };
}
