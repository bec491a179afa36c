// Instances on one PostgreSQL database must find each other's uploads: in one bucket (--files-s3) or in one
// folder they all mount. A folder names itself by a random mark in its `.echat-folder`, made by the first
// instance to use it; the database keeps the first mark an instance reports (the settings table). An instance
// whose folder holds another mark keeps its files apart from the others': an upload to it is a 404 elsewhere.
import { link, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";

const MARK_FILE = ".echat-folder";
export const MARK_SETTING = "files_folder";

// The folder's mark, made if it has none. Written aside and linked into place, so an instance starting at the
// same moment on the same folder reads the whole mark or makes the link itself, never half a file.
async function folderMark(root: string): Promise<string> {
  const path = join(root, MARK_FILE);
  const mark = crypto.randomUUID();
  const temp = `${path}.${mark}.part`;
  await writeFile(temp, `${mark}\n`, { mode: 0o600 });
  try {
    await link(temp, path);
    return mark;
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
    return (await readFile(path, "utf8")).trim();
  } finally {
    await rm(temp, { force: true });
  }
}

// At start with DATABASE_URL and a folder: warns unless this folder is the one the database's files are in
// (the first folder any instance reported). A mark it cannot read or make is a warning too, never a failed start.
export async function checkSharedFolder(store: Pick<Store, "setting">, root: string, log: Logger) {
  try {
    const mark = await folderMark(root);
    if ((await store.setting(MARK_SETTING, mark)) === mark) return;
    log.warn(
      "files are local to this instance: another instance of this database keeps its files in another folder; " +
        "give every instance the same folder (a shared volume) or --files-s3 s3://bucket/prefix",
      { files: root },
    );
  } catch (e) {
    log.warn(`files: cannot tell whether ${root} is shared with the other instances`, { error: String(e) });
  }
}
