// One line per event: human text by default, JSON with --log-format json.
// Never pass secrets (session ids, passwords, hashes) in fields.
import type { Config } from "./config.ts";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, "silent">;
export type Fields = Record<string, string | number | boolean | null | undefined>;
export type Logger = Record<Level, (msg: string, fields?: Fields) => void>;

// Characters that must not reach a terminal or a log viewer raw: C0, DEL, C1, lone surrogates, line and
// paragraph separators, and the bidi controls (U+202E would reverse the rest of the line).
const CONTROL = /[\p{Cc}\p{Cs}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const QUOTE = /[\s"=\p{Cc}\p{Cs}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const hex = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
// JSON.stringify escapes C0 only; the rest become \uXXXX too (valid JSON: they occur only inside strings).
const escapeControls = (s: string) => s.replace(CONTROL, hex);
const quote = (s: string) => escapeControls(JSON.stringify(s));

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
        write(escapeControls(JSON.stringify({ time, level, msg, ...fields })));
      } else {
        const rest = Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === "string" && QUOTE.test(v) ? quote(v) : v}`)
          .join(" ");
        write(`${time} ${level.toUpperCase().padEnd(5)} ${escapeControls(msg)}${rest ? " " + rest : ""}`);
      }
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
