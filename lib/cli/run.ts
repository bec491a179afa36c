// The command line's driver: picks the command from COMMANDS (commands.ts), parses its flags (its own and
// the settings it reads), builds the config (flags > environment > --config file > defaults) and runs it.
// Exit codes: 0 done (and every --help), 1 a failure, 2 a usage error or a bad setting.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { ConfigError, SETTINGS, buildConfig } from "../config.ts";
import { ApiError } from "../errors.ts";
import { type App, type Command, type Context, err, Failure, out, settingsOf, UsageError } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { commandHelp, groupHelp, synopsis, usage } from "./help.ts";
import { PromptError } from "./prompt.ts";

const HELP = ["--help", "-h"];

export async function main(argv: string[], app: App): Promise<number> {
  try {
    if (argv.length === 1 && [...HELP, "help"].includes(argv[0]!)) {
      out(usage(app.version, COMMANDS));
      return 0;
    }
    if (argv.length === 1 && argv[0] === "--version") argv = ["version"];
    if (argv.length === 2 && HELP.includes(argv[1]!) && isGroup(argv[0]!)) {
      out(groupHelp(argv[0]!, COMMANDS));
      return 0;
    }
    const [name, rest] = pickCommand(argv);
    const cmd = COMMANDS[name]!;
    const parsed = parseCommand(name, cmd, rest);
    if (parsed.values.help) {
      out(commandHelp(name, cmd));
      return 0;
    }
    checkArity(name, cmd, parsed.positionals);
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

const isGroup = (word: string) => Object.keys(COMMANDS).some((c) => c.startsWith(word + " "));

// A command's flags: its own, the settings it reads, and --help.
function parseCommand(name: string, cmd: Command, rest: string[]) {
  const settings = Object.fromEntries(settingsOf(cmd).map((k) => [SETTINGS[k].flag, { type: "string" as const }]));
  const options: ParseArgsOptionsConfig = { ...settings, ...cmd.options, help: { type: "boolean", short: "h" } };
  try {
    return parseArgs({ args: rest, options, strict: true, allowPositionals: true });
  } catch (e) {
    // --help anywhere wins over a flag this command does not take
    if (rest.some((a) => HELP.includes(a))) return { values: { help: true }, positionals: [] };
    throw new UsageError(argsMessage(e, name));
  }
}

function checkArity(name: string, cmd: Command, positionals: string[]) {
  if (positionals.length === cmd.args.length) return;
  const extra = positionals[cmd.args.length];
  throw new UsageError(
    extra !== undefined
      ? `unexpected argument ${JSON.stringify(extra)} (usage: ${synopsis(name, cmd)})`
      : `missing <${cmd.args[positionals.length]}> (usage: ${synopsis(name, cmd)})`,
  );
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
      throw new UsageError(`${first} needs a command: ${group.join(", ")} (see echat ${first} --help)`);
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
