// Files the SQLite store makes beside its database (the database itself, its lock, backups), readable by
// echat's user only, and the consistent copy `echat backup` and an upgrade take.
import type { Database } from "bun:sqlite";
import { closeSync, constants, existsSync, openSync, rmSync } from "node:fs";

// The file exists, readable by its owner only, before SQLite opens it: SQLite creates a database
// 0644 (less the umask) and gives its -wal and -shm files the database file's mode. An existing
// file keeps its mode.
export function createPrivate(path: string, exclusive = false) {
  const flags = constants.O_CREAT | constants.O_RDWR | (exclusive ? constants.O_EXCL : 0);
  try {
    closeSync(openSync(path, flags, 0o600));
  } catch (e) {
    // A missing folder: SQLite's own open fails next, with the message the CLI reports.
    if (exclusive || (e as { code?: string }).code !== "ENOENT") throw e;
  }
}

// A complete, compact copy of the database `db` reads, as one read transaction (safe while others write),
// into a new file: created 0600 first (VACUUM INTO accepts an empty file; SQLite would create it 0644),
// and O_EXCL, so an existing file is never overwritten.
export function copyDatabase(db: Database, file: string) {
  createPrivate(file, true);
  try {
    db.run("VACUUM INTO ?", [file]);
  } catch (e) {
    rmSync(file, { force: true }); // the empty file made above, or a partial copy
    throw e;
  }
}

// "<db>.v10.bak", or "<db>.v10.2.bak" and so on when an earlier upgrade attempt left one.
export function freeBackupName(db: string, version: number): string {
  for (let n = 1; ; n++) {
    const name = `${db}.v${version}${n === 1 ? "" : `.${n}`}.bak`;
    if (!existsSync(name)) return name;
  }
}
