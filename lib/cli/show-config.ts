// `echat config`: the effective settings, each with where its value came from, as a TOML file could hold
// them (secrets masked), so that the output is also a starting point for /etc/echat/echat.toml.
import { maskUrl, resolveConfig, type SettingKey, SETTINGS, type Source } from "../config.ts";
import { type Command, out } from "./command.ts";

export const CONFIG_COMMAND: Command = {
  args: [],
  summary: "print the effective settings and where each comes from (flag, env, file, default); secrets masked",
  settings: "all",
  async run({ values }) {
    const { config, sources, file } = resolveConfig(values, process.env);
    out(file ? `# config file: ${file} (${describeSource("config", sources.config)})` : "# no config file");
    const lines = (Object.keys(SETTINGS) as SettingKey[])
      .filter((k) => SETTINGS[k].file)
      .map((k) => [`${SETTINGS[k].flag} = ${tomlValue(k, config[k])}`, describeSource(k, sources[k])] as const);
    const width = Math.max(...lines.map(([l]) => l.length));
    for (const [line, source] of lines) out(`${line.padEnd(width)}  # ${source}`);
    return 0;
  },
};

function describeSource(key: SettingKey, source: Source): string {
  const s = SETTINGS[key];
  return { flag: `flag --${s.flag}`, env: `env ${s.env}`, file: "file", default: "default" }[source];
}

function tomlValue(key: SettingKey, v: unknown): string {
  if (typeof v === "string") return JSON.stringify(SETTINGS[key].secret ? maskUrl(v) : v);
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
  return String(v);
}
