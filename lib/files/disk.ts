// The default storage: a folder beside the database file (--files-dir), made 0700, each file 0600, written
// to a temporary name, fsynced and renamed into place, so a reader never sees half a file.
import { mkdirSync } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Range, Storage } from "./storage.ts";

export function diskStorage(root: string): Storage {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const path = (key: string) => join(root, key);
  return {
    where: root,
    async put(key, chunks) {
      const target = path(key);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const temp = `${target}.${crypto.randomUUID()}.part`;
      const file = await open(temp, "wx", 0o600);
      try {
        for await (const chunk of chunks) await file.write(chunk);
        await file.sync();
        await file.close();
        await rename(temp, target);
      } catch (e) {
        await file.close().catch(() => {});
        await rm(temp, { force: true });
        throw e;
      }
    },
    async get(key, range?: Range) {
      const file = Bun.file(path(key));
      if (!(await file.exists())) return null;
      return range ? file.slice(range.start, range.end) : file;
    },
    async delete(key) {
      await rm(path(key), { force: true });
    },
    async exists(key) {
      return stat(path(key)).then(
        () => true,
        () => false,
      );
    },
  };
}
