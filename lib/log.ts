// One line per event: human text by default, JSON with --log-format json.
// Never pass secrets (session ids, passwords, hashes) in fields.
import type { Config } from "./config.ts";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, "silent">;
export type Fields = Record<string, string | number | boolean | null | undefined>;
export type Logger = Record<Level, (msg: string, fields?: Fields) => void>;

export function createLogger(
  config: Pick<Config, "logLevel" | "logFormat">,
  write: (line: string) => void = (line) => void process.stderr.write(line + "\n"),
): Logger {
  const min = LEVELS[config.logLevel];
  const emit =
    (level: Level) =>
    (msg: string, fields: Fields = {}) => {
      if (LEVELS[level] < min) return;
      const time = new Date().toISOString();
      if (config.logFormat === "json") {
        write(JSON.stringify({ time, level, msg, ...fields }));
      } else {
        const rest = Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === "string" && /[\s"=]/.test(v) ? JSON.stringify(v) : v}`)
          .join(" ");
        write(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${rest ? " " + rest : ""}`);
      }
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
