// `echat export FILE` and `echat import FILE` (lib/export, docs/export.md): the whole database as JSON Lines
// and back, on either store, into either store.
import { closeSync, existsSync, openSync, statSync } from "node:fs";
import type { Config } from "../config.ts";
import { filesDir, openStorage } from "../files/open.ts";
import { type Command, Failure, out, STORE_SETTINGS } from "./command.ts";

const EXPORT_SETTINGS = [...STORE_SETTINGS, "filesDir", "filesS3"] as const;

export const EXPORT_COMMANDS: Record<string, Command> = {
  export: {
    args: ["file"],
    summary:
      "write the database to a new JSON Lines file (docs/export.md), safe while serving: users without their " +
      "password hashes, rooms, members, messages, reactions, files as references; --with-secrets: also password " +
      "hashes, sessions, invites, push subscriptions and the server's keys; --with-files: the files' bytes inside",
    options: { "with-secrets": { type: "boolean" }, "with-files": { type: "boolean" } },
    settings: EXPORT_SETTINGS,
    async run({ app, config, args: [file], values }) {
      if (existsSync(file!)) throw new Failure(`${file} already exists; give a new file name`);
      const [{ withTables }, { writeExport }, { progressLine }] = await Promise.all([
        import("../export/open.ts"),
        import("../export/write.ts"),
        import("../export/progress.ts"),
      ]);
      const withSecrets = values["with-secrets"] === true;
      const withFiles = values["with-files"] === true;
      const storage = withFiles ? openStorage(config) : undefined;
      const options = { withSecrets, withFiles, echat: app.version, progress: progressLine("export") };
      const r = await withTables(config, false, (tables) => writeExport(tables, storage, file!, options)).catch(
        failed("export"),
      );
      out(`exported ${counted(r.counts)} from ${where(config)} to ${file} (${statSync(file!).size} bytes)`);
      const files = r.counts.file ?? 0;
      const stay = config.filesS3 || filesDir(config);
      if (r.missingFiles) out(`${r.missingFiles} of the files' bytes were not in ${stay}: left out`);
      else if (files && !withFiles) out(`the files' bytes stay in ${stay} (--with-files puts them inside)`);
      if (!withSecrets) out("no password hashes: after an import, set each password with `echat user passwd <login>`");
      return 0;
    },
  },
  import: {
    args: ["file"],
    summary:
      "read an export into an empty database (SQLite, or PostgreSQL with DATABASE_URL; from either store), " +
      "with its ids, and the files' bytes it holds into the files storage",
    settings: EXPORT_SETTINGS,
    async run({ config, args: [file] }) {
      readable(file!);
      const [{ withTables }, { readExport, ImportError }, { progressLine }] = await Promise.all([
        import("../export/open.ts"),
        import("../export/read.ts"),
        import("../export/progress.ts"),
      ]);
      const storage = openStorage(config);
      const r = await withTables(config, true, (tables) =>
        readExport(tables, storage, file!, progressLine("import")),
      ).catch((e) => {
        throw e instanceof ImportError
          ? new Failure(`${file}: ${e.message}; nothing was imported`)
          : failed("import")(e);
      });
      out(`imported ${counted(r.counts)} from ${file} (echat ${r.header.echat}) into ${where(config)}`);
      if (r.missingFiles) out(`${r.missingFiles} files' bytes are not in ${storage.where}: copy them there`);
      if (!r.header.with_secrets)
        out("the export held no password hashes: nobody can log in until `echat user passwd <login>` sets one");
      return 0;
    },
  },
};

function readable(file: string) {
  try {
    closeSync(openSync(file, "r"));
    if (!statSync(file).isFile()) throw new Error("not a file");
  } catch (e) {
    throw new Failure(`cannot read ${file}: ${e instanceof Error ? e.message : e}`);
  }
}

const failed = (what: string) => (e: unknown) => {
  throw e instanceof Failure ? e : new Failure(`${what} failed: ${e instanceof Error ? e.message : e}`);
};

const where = (config: Config) => (config.databaseUrl ? "the PostgreSQL database" : config.db);
const counted = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([type, n]) => `${n} ${type}${n === 1 ? "" : "s"}`)
    .join(", ");
