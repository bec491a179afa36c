// The command line: `echat [serve]`, `echat user add|passwd|list|admin|disable|enable|delete`,
// `echat invite create|list|revoke`, `echat backup`, `echat migrate`, `echat export|import`, `echat health`, `echat version`,
// `echat config`. Each command is one entry in COMMANDS; adding a command is adding an entry (its own flags
// go in `options`, the settings it reads in `settings`); run.ts parses and runs them.
import { existsSync, statSync } from "node:fs";
import type { Running } from "../../server.ts";
import { hashPassword } from "../auth/passwords.ts";
import { type Config, type SettingKey } from "../config.ts";
import { createLogger } from "../log.ts";
import { SCHEMA_VERSION } from "../store/migrations.ts";
import { filesDir, openStorage } from "../files/open.ts";
import { parseS3Url } from "../files/s3.ts";
import { backupFiles, filesToS3 } from "./copy-files.ts";
import { ACCOUNT_COMMANDS, INVITE_COMMANDS } from "./accounts.ts";
import { EXPORT_COMMANDS } from "./export.ts";
import { HEALTH_COMMANDS } from "./health.ts";
import {
  type Command,
  type Context,
  Failure,
  isoSeconds,
  out,
  STORE_SETTINGS,
  UsageError,
  withStore,
} from "./command.ts";
import { describeDatabase } from "../startup.ts";
import { CONFIG_COMMAND } from "./show-config.ts";
import { readPassword } from "./prompt.ts";
import { foldLogin, validLogin, validPassword } from "../validate.ts";

const PASSWORD_SETTINGS: readonly SettingKey[] = [...STORE_SETTINGS, "passwordMemoryKiB", "passwordTime"];

export const COMMANDS: Record<string, Command> = {
  serve: {
    args: [],
    summary: "run the server (the default command)",
    settings: "all",
    run: serve,
  },
  "user add": {
    args: ["login"],
    summary: "create a user (--admin: an admin); the password comes from stdin, or a prompt on a terminal",
    options: { admin: { type: "boolean" } },
    settings: PASSWORD_SETTINGS,
    async run({ config, args: [raw], values }) {
      const login = validLogin(raw!);
      const password = validPassword(await readPassword(true));
      const hash = await hashPassword(config, password);
      const admin = values.admin === true;
      const user = await withStore(config, true, (store) =>
        store.createUser(login, foldLogin(login), hash, Date.now(), admin),
      );
      if (!user) throw new Failure(`user ${JSON.stringify(login)} already exists`);
      out(`created ${admin ? "admin" : "user"} ${user.login} (id ${user.id})`);
      return 0;
    },
  },
  ...ACCOUNT_COMMANDS,
  "user passwd": {
    args: ["login"],
    summary: "set a user's password (stdin or prompt) and end all their sessions",
    settings: PASSWORD_SETTINGS,
    async run({ config, args: [login] }) {
      // The user first: no password is asked for an account that does not exist.
      await withStore(config, false, async (store) => {
        const user = await store.findUserByLogin(foldLogin(login!), login);
        if (!user) throw new Failure(`no user ${JSON.stringify(login)}`);
        const hash = await hashPassword(config, validPassword(await readPassword(true)));
        await store.changePassword(user.id, hash, null);
      });
      out(`password changed for ${login}; their sessions have ended`);
      return 0;
    },
  },
  "user list": {
    args: [],
    summary: "list users: id, login, creation time (UTC, to the second, as the API writes it)",
    async run({ config }) {
      const users = await withStore(config, false, (store) => store.listUsers());
      out("id\tlogin\tcreated_at");
      for (const u of users) out(`${u.id}\t${u.login}\t${isoSeconds(u.createdAt)}`);
      return 0;
    },
  },
  ...INVITE_COMMANDS,
  backup: {
    args: ["file"],
    summary:
      "write a consistent copy of the live SQLite database to a new file, and the uploaded files it lists to " +
      "<file>-files/ (safe while serving; with --files-s3 the files stay in the bucket)",
    settings: [...STORE_SETTINGS, "filesDir", "filesS3"],
    async run({ config, args: [file] }) {
      for (const f of [file!, `${file}-files`])
        if (existsSync(f)) throw new Failure(`${f} already exists; give a new file name`);
      await withStore(config, false, async (store) => {
        if (!store.backup) throw new Failure("backup copies the embedded SQLite database; for PostgreSQL use pg_dump");
        await store.backup(file!);
      });
      out(`backed up ${config.db} to ${file} (${statSync(file!).size} bytes)`);
      out(await backupFiles(file!, filesDir(config), config.filesS3));
      return 0;
    },
  },
  migrate: {
    args: [],
    summary:
      "copy the SQLite database (--db) into an empty PostgreSQL database (--to postgres://…, or the environment " +
      "variable ECHAT_MIGRATE_TO, which keeps the password out of the process list) and check the counts; " +
      "--files-to s3://bucket/prefix: then copy the uploaded files to S3 (alone: only the files)",
    options: { to: { type: "string" }, "files-to": { type: "string" } },
    settings: ["config", "db", "filesDir"],
    async run({ config, values }) {
      const to = values.to ?? process.env.ECHAT_MIGRATE_TO;
      const filesTo = values["files-to"];
      if (filesTo !== undefined && (typeof filesTo !== "string" || !parseS3Url(filesTo)))
        throw new UsageError("--files-to must be s3://bucket/prefix");
      if (filesTo === undefined || to !== undefined) {
        if (typeof to !== "string" || !/^postgres(ql)?:\/\//.test(to))
          throw new UsageError("migrate needs --to postgres://user:pass@host/database (or ECHAT_MIGRATE_TO)");
      }
      if (!existsSync(config.db)) throw new Failure(`no database at ${config.db} (set --db or ECHAT_DB)`);
      if (typeof to === "string") await migrateDatabase(config, to);
      if (typeof filesTo === "string") {
        const storage = openStorage({ ...config, filesS3: filesTo });
        out(
          await filesToS3(config.db, filesDir(config), storage).catch((e) => {
            throw new Failure(`copying the files failed (run again to finish): ${e instanceof Error ? e.message : e}`);
          }),
        );
      }
      return 0;
    },
  },
  ...EXPORT_COMMANDS,
  ...HEALTH_COMMANDS,
  version: {
    args: [],
    summary: "print the version, and the database schema version this echat reads and writes",
    settings: [],
    async run({ app }) {
      out(`echat ${app.version} (schema ${SCHEMA_VERSION}, bun ${Bun.version}, ${process.platform}-${process.arch})`);
      return 0;
    },
  },
  config: CONFIG_COMMAND,
};

async function serve({ app, config }: Context): Promise<number> {
  const log = createLogger(config);
  let running: Running;
  try {
    running = await app.startServer(config);
  } catch (e) {
    throw new Failure(
      `cannot start on ${config.host}:${config.port} with ${describeDatabase(config)}: ${e instanceof Error ? e.message : e}`,
    );
  }
  // Handlers first: whoever reads the start-up line may signal at once.
  const stopped = new Promise<string>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => resolve(s));
  });
  log.info(`echat ${app.version} listening on ${running.url}`);
  const signal = await stopped;
  log.info("shutting down", { signal });
  for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => process.exit(1)); // a second signal: stop now
  await running.shutdown();
  log.info("stopped");
  return 0;
}

async function migrateDatabase(config: Config, to: string) {
  const { migrateToPostgres, MigrateError } = await import("./copy-to-postgres.ts");
  const counts = await migrateToPostgres(config.db, to).catch((e) => {
    throw new Failure(
      e instanceof MigrateError ? e.message : `migration failed: ${e instanceof Error ? e.message : e}`,
    );
  });
  out(
    `copied ${Object.entries(counts)
      .map(([t, n]) => `${n} ${t}`)
      .join(", ")} from ${config.db}; counts match`,
  );
}
