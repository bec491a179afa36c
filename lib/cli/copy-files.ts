// Copying a SQLite database's files out of the disk storage: `echat backup` (into a folder beside the
// database copy) and `echat migrate --files-to s3://…` (into the bucket). The list is the database's own
// files table, read from the file given (for a backup, the copy just made: so the files match its rows).
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Storage } from "../files/storage.ts";

export type FileCopy = { copied: number; bytes: number; missing: string[] };
type Put = (key: string, file: Bun.BunFile, size: number) => Promise<void>;

// Keys are what the disk storage made (ab/cd/<public_id>); anything else is refused, never followed.
export const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

export function countFiles(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    const table = db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'files'").get();
    return table ? db.query<{ n: number }, []>("SELECT count(*) AS n FROM files").get()!.n : 0;
  } finally {
    db.close();
  }
}

// Every file row's bytes from `fromDir`, in id order. A row whose bytes are gone (deleted since the copy
// was taken: a deleted message, a swept upload) is listed in `missing`, not an error.
export async function copyFiles(dbFile: string, fromDir: string, put: Put): Promise<FileCopy> {
  const db = new Database(dbFile, { readonly: true });
  const result: FileCopy = { copied: 0, bytes: 0, missing: [] };
  try {
    const rows = db.query<{ key: string; size: number }, []>("SELECT storage_key AS key, size FROM files ORDER BY id");
    for (const { key, size } of rows.iterate()) {
      const file = Bun.file(join(fromDir, key));
      if (!KEY.test(key) || !(await file.exists())) {
        result.missing.push(key);
        continue;
      }
      await put(key, file, size);
      result.copied++;
      result.bytes += size;
    }
  } finally {
    db.close();
  }
  return result;
}

// A put into a folder laid out as the disk storage is (folders 0700, files 0600), so the folder can be
// given as --files-dir to a server on the restored database.
export function putInFolder(root: string): Put {
  return async (key, file) => {
    const dest = join(root, key);
    if (!existsSync(dirname(dest))) mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
    await Bun.write(dest, file, { mode: 0o600 });
  };
}

// `echat backup <file>`: the files of the database copy `file` into `<file>-files/` (disk storage), or a
// note that they stay in the bucket (S3). One line for the CLI's output.
export async function backupFiles(file: string, filesDir: string, filesS3: string): Promise<string> {
  const n = countFiles(file);
  if (n === 0) return "no uploaded files to copy";
  if (filesS3) return `${files(n)} in the bucket ${filesS3}: back them up there (this copy holds their rows)`;
  const to = `${file}-files`;
  const r = await copyFiles(file, filesDir, putInFolder(to));
  const gone = r.missing.length ? `; ${r.missing.length} deleted since the copy was taken` : "";
  return `copied ${files(r.copied)} (${r.bytes} bytes) from ${filesDir} to ${to}${gone}`;
}

// `echat migrate --files-to s3://bucket/prefix`: the files of the SQLite database `db` from its files folder
// into the bucket, under the same keys. Writing a key again is harmless, so a failed copy is run again.
export async function filesToS3(db: string, fromDir: string, to: Storage): Promise<string> {
  const n = countFiles(db);
  if (n === 0) return `no uploaded files in ${db}: nothing to copy to ${to.where}`;
  const r = await copyFiles(db, fromDir, (key, file) => to.put(key, file.stream()));
  const gone = r.missing.length ? `; ${r.missing.length} listed but deleted meanwhile` : "";
  return `copied ${files(r.copied)} (${r.bytes} bytes) from ${fromDir} to ${to.where}${gone}; serve with --files-s3 ${to.where}`;
}

const files = (n: number) => `${n} file${n === 1 ? "" : "s"}`;
