// The command line: `echat [serve]`, `echat user add|passwd|list|admin|disable|enable|delete`,
// `echat invite create|list|revoke`, `echat backup`, `echat migrate`, `echat export|import`, `echat version`.
// Each command is one entry in COMMANDS; adding a command is adding an entry (its own flags go in
// `options`, the settings flags from lib/config.ts come with every command).
import { existsSync, statSync } from "node:fs";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Running } from "../../server.ts";
import { hashPassword } from "../auth/passwords.ts";
import { buildConfig, type Config, ConfigError, SETTING_FLAGS, SETTINGS } from "../config.ts";
import { ApiError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { openDatabase } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { filesDir, openStorage } from "../files/open.ts";
import { parseS3Url } from "../files/s3.ts";
import { backupFiles, filesToS3 } from "./copy-files.ts";
import { ACCOUNT_COMMANDS, INVITE_COMMANDS } from "./accounts.ts";
import { EXPORT_COMMANDS } from "./export.ts";
import { type App, type Command, type Context, err, Failure, out, UsageError, withStore } from "./command.ts";
import { PromptError, readPassword } from "./prompt.ts";
import { foldLogin, validLogin, validPassword } from "../validate.ts";

export const COMMANDS: Record<string, Command> = {
  serve: {
    args: [],
    summary: "run the server (the default command)",
    run: serve,
  },
  "user add": {
    args: ["login"],
    summary: "create a user (--admin: an admin); the password comes from stdin, or a prompt on a terminal",
    options: { admin: { type: "boolean" } },
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
  ...INVITE_COMMANDS,
  "user passwd": {
    args: ["login"],
    summary: "set a user's password (stdin or prompt) and end all their sessions",
    async run({ config, args: [login] }) {
      const password = validPassword(await readPassword(true));
      const hash = await hashPassword(config, password);
      await withStore(config, false, async (store) => {
        const user = await store.findUserByLogin(foldLogin(login!), login);
        if (!user) throw new Failure(`no user ${JSON.stringify(login)}`);
        await store.changePassword(user.id, hash, null);
      });
      out(`password changed for ${login}; their sessions have ended`);
      return 0;
    },
  },
  "user list": {
    args: [],
    summary: "list users: id, login, creation time",
    async run({ config }) {
      const users = await withStore(config, false, (store) => store.listUsers());
      out("id\tlogin\tcreated_at");
      for (const u of users) out(`${u.id}\t${u.login}\t${new Date(u.createdAt).toISOString()}`);
      return 0;
    },
  },
  backup: {
    args: ["file"],
    summary:
      "write a consistent copy of the live SQLite database to a new file, and the uploaded files it lists to " +
      "<file>-files/ (safe while serving; with --files-s3 the files stay in the bucket)",
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
  version: {
    args: [],
    summary: "print the version",
    async run({ app }) {
      out(`echat ${app.version} (bun ${Bun.version}, ${process.platform}-${process.arch})`);
      return 0;
    },
  },
};

export async function main(argv: string[], app: App): Promise<number> {
  try {
    if (argv.length === 1 && ["--help", "-h", "help"].includes(argv[0]!)) {
      out(usage(app));
      return 0;
    }
    if (argv.length === 1 && argv[0] === "--version") argv = ["version"];
    const [name, rest] = pickCommand(argv);
    const cmd = COMMANDS[name]!;
    const options: ParseArgsOptionsConfig = { ...SETTING_FLAGS, ...cmd.options, help: { type: "boolean", short: "h" } };
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
    } catch (e) {
      throw new UsageError(argsMessage(e, name));
    }
    if (parsed.values.help) {
      out(commandHelp(name, cmd));
      return 0;
    }
    if (parsed.positionals.length !== cmd.args.length) {
      const extra = parsed.positionals[cmd.args.length];
      throw new UsageError(
        extra !== undefined
          ? `unexpected argument ${JSON.stringify(extra)} (usage: echat ${name}${cmd.args.map((a) => ` <${a}>`).join("")})`
          : `missing <${cmd.args[parsed.positionals.length]}> (usage: echat ${name}${cmd.args.map((a) => ` <${a}>`).join("")})`,
      );
    }
    const values = parsed.values as Context["values"]; // no option is `multiple`
    const config = buildConfig(values, process.env);
    return await cmd.run({ app, config, args: parsed.positionals, values });
  } catch (e) {
    const usageError = e instanceof UsageError || e instanceof ConfigError;
    const expected = usageError || e instanceof Failure || e instanceof PromptError || e instanceof ApiError;
    err(`echat: ${expected ? (e as Error).message : e instanceof Error ? e.stack : String(e)}`);
    return usageError ? 2 : 1;
  }
}

// "user add alice" -> ["user add", ["alice"]]; no word, or a flag first, means serve.
function pickCommand(argv: string[]): [string, string[]] {
  const [first, second] = argv;
  if (first === undefined || first.startsWith("-")) return ["serve", argv];
  if (second !== undefined && COMMANDS[`${first} ${second}`]) return [`${first} ${second}`, argv.slice(2)];
  if (COMMANDS[first]) return [first, argv.slice(1)];
  const group = Object.keys(COMMANDS).filter((c) => c.startsWith(first + " "));
  if (group.length) {
    if (second === undefined || second.startsWith("-"))
      throw new UsageError(`${first} needs a command: ${group.join(", ")}`);
    throw new UsageError(`unknown command "${first} ${second}" (commands: ${group.join(", ")})`);
  }
  throw new UsageError(`unknown command "${first}" (see echat --help)`);
}

function argsMessage(e: unknown, command: string): string {
  const m = e instanceof Error ? e.message : String(e);
  const unknown = /^Unknown option '([^']+)'/.exec(m);
  if (unknown) return `unknown flag ${unknown[1]} for "${command}" (see echat ${command} --help)`;
  return m.split(". ")[0]!;
}

function usage(app: App): string {
  const width = Math.max(...Object.entries(COMMANDS).map(([n, c]) => synopsis(n, c).length));
  return [
    `echat ${app.version}: a small self-hosted chat server`,
    "",
    "Usage:",
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${synopsis(n, c).padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes the settings flags (see echat serve --help); each has an environment variable.",
    "Run echat <command> --help for details.",
  ].join("\n");
}

const synopsis = (name: string, c: Command) => `echat ${name}${c.args.map((a) => ` <${a}>`).join("")}`;

function commandHelp(name: string, cmd: Command): string {
  const own = Object.entries(cmd.options ?? {}).map(
    ([flag, o]) => `  --${flag}${o.type === "string" ? " <value>" : ""}`,
  );
  const settings = Object.values(SETTINGS).map(
    (s) => `  --${s.flag} <value>`.padEnd(34) + `${s.env.padEnd(28)} ${s.help} (default: ${show(s.def)})`,
  );
  return [
    `Usage: ${synopsis(name, cmd)} [flags]`,
    "",
    cmd.summary,
    ...(own.length ? ["", "Flags:", ...own] : []),
    "",
    "Settings (flag, environment variable; a flag wins over the variable):",
    ...settings,
  ].join("\n");
}

export const show = (v: unknown) =>
  Array.isArray(v)
    ? v.length
      ? v.join(",")
      : "(none)"
    : v === ""
      ? "(none)"
      : typeof v === "boolean"
        ? v
          ? "on"
          : "off"
        : String(v);

async function serve({ app, config }: Context): Promise<number> {
  const log = createLogger(config);
  let running: Running;
  try {
    running = await app.startServer(config);
  } catch (e) {
    throw new Failure(
      `cannot start on ${config.host}:${config.port} with ${describeDb(config)}: ${e instanceof Error ? e.message : e}`,
    );
  }
  // Handlers first: whoever reads the start-up line may signal at once.
  const stopped = new Promise<string>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => resolve(s));
  });
  log.info(`echat ${app.version} listening on ${running.url}`, { db: describeDb(config) });
  const signal = await stopped;
  log.info("shutting down", { signal });
  for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => process.exit(1)); // a second signal: stop now
  await running.shutdown();
  log.info("stopped");
  return 0;
}

// The database for the start-up line, without a password.
function describeDb(config: Config): string {
  if (!config.databaseUrl) return config.db;
  try {
    const u = new URL(config.databaseUrl);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres";
  }
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

// README's settings table, generated from lib/config.ts (scripts/settings-table.ts writes it in).
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS).map(
    (s) => `| \`--${s.flag}\` | \`${s.env}\` | \`${show(s.def)}\` | ${s.help} |`,
  );
  return ["| Flag | Environment | Default | Meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
