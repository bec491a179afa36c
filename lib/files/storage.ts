// Where the bytes of uploaded files live: the one contract both storages keep (disk.ts: a folder, the
// default; s3.ts: a bucket through Bun's S3Client, for several instances). open.ts picks one from the config.
// Keys are made by storageKey() from the file's public id; the database row (lib/store files) says which
// key holds which file. A storage never knows about rooms, users or limits.
import type { Logger } from "../log.ts";

export type Range = { start: number; end: number }; // bytes [start, end), end exclusive

export interface Storage {
  // Stores the chunks under key, streaming (never the whole file in memory), and resolves once they are
  // durable. When the chunks throw (the upload went over its limit, the client went away) or writing fails,
  // it leaves nothing readable under key and rethrows. A key is written once.
  put(key: string, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  // The bytes under key, or the range of them, as a body a Response streams (a lazy Blob or a stream);
  // null when the storage holds nothing under key.
  get(key: string, range?: Range): Promise<Blob | ReadableStream<Uint8Array> | null>;
  // Removes key; a missing key is no error (deleting twice is harmless).
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  // Where the files are, for logs and `echat backup`: a folder, or s3://bucket/prefix.
  readonly where: string;
}

// The bytes of files whose rows are gone (a message deleted, a sweep), one after another. A failure is logged
// and leaves bytes no row names, never a row without bytes. what: "a file's", "an expired file's", …
export async function deleteBytes(storage: Pick<Storage, "delete">, keys: Iterable<string>, log: Logger, what: string) {
  for (const key of keys) {
    await storage.delete(key).catch((e) => log.warn(`deleting ${what} bytes failed`, { key, error: String(e) }));
  }
}

// A file's key: "ab/cd/<public id>" from the id's first characters, so no folder grows past 4,096 entries
// before a million files; public ids are base64url (no "/" nor ".").
export function storageKey(publicId: string): string {
  return `${publicId.slice(0, 2)}/${publicId.slice(2, 4)}/${publicId}`;
}
