// What the CLI prints about itself: the command list, a group's commands, one command's usage with the
// settings it reads, and README's settings table (scripts/settings-table.ts writes it in).
import { type SettingKey, SETTINGS } from "../config.ts";
import { type Command, settingsOf } from "./command.ts";

export const synopsis = (name: string, c: Command) => `echat ${name}${c.args.map((a) => ` <${a}>`).join("")}`;

function table(commands: [string, Command][]): string[] {
  const width = Math.max(...commands.map(([n, c]) => synopsis(n, c).length));
  return commands.map(([n, c]) => `  ${synopsis(n, c).padEnd(width)}  ${c.summary}`);
}

export function usage(version: string, commands: Record<string, Command>): string {
  return [
    `echat ${version}: a small self-hosted chat server`,
    "",
    "Usage:",
    ...table(Object.entries(commands)),
    "",
    "Each command takes the settings it reads as flags, environment variables or --config file keys.",
    "Run echat <command> --help for its usage and settings.",
  ].join("\n");
}

// `echat user --help`: the commands of one group.
export function groupHelp(group: string, commands: Record<string, Command>): string {
  const members = Object.entries(commands).filter(([n]) => n.startsWith(group + " "));
  return [
    `Usage: echat ${group} <command> [flags]`,
    "",
    "Commands:",
    ...table(members),
    "",
    `Run echat ${group} <command> --help for its usage and settings.`,
  ].join("\n");
}

export function commandHelp(name: string, cmd: Command): string {
  const own = Object.entries(cmd.options ?? {}).map(
    ([flag, o]) => `  --${flag}${o.type === "string" ? " <value>" : ""}`,
  );
  const keys = settingsOf(cmd);
  return [
    `Usage: ${synopsis(name, cmd)} [flags]`,
    "",
    cmd.summary,
    ...(own.length ? ["", "Flags:", ...own] : []),
    ...(keys.length
      ? [
          "",
          "Settings it reads (flag, environment variable; a flag wins over the variable, which wins over --config):",
          ...keys.map(settingLine),
        ]
      : []),
  ].join("\n");
}

function settingLine(key: SettingKey): string {
  const s = SETTINGS[key];
  return `  --${s.flag} <value>`.padEnd(34) + `${s.env.padEnd(28)} ${s.help} (default: ${show(s.def)})`;
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

// README's settings table, generated from lib/config.ts.
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS).map(
    (s) =>
      `| \`--${s.flag}\` | \`${s.env}\` | \`${show(s.def)}\` | ${s.help}${s.file ? "" : " (flag or environment only, not in the file)"} |`,
  );
  return ["| Flag | Environment | Default | Meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
