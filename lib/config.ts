// Every setting in one table: flag, environment variable, default, parser.
// resolveConfig() builds one frozen, typed object from flags > environment > the --config file > defaults,
// and says where each value came from (echat config prints that).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

type Parser<T> = (raw: string) => T | undefined; // undefined = invalid

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw)) return undefined;
    const n = Number(raw);
    return n >= min && n <= max ? n : undefined;
  };
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) =>
    (values as string[]).includes(raw) ? (raw as T) : undefined;
const text: Parser<string> = (raw) => (raw.length > 0 ? raw : undefined);
const bool: Parser<boolean> = (raw) =>
  ["on", "true", "1", "yes"].includes(raw) ? true : ["off", "false", "0", "no"].includes(raw) ? false : undefined;
const list: Parser<string[]> = (raw) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

// file: false for a setting the --config file may not hold (the file's own name).
// secret: the value is a URL whose password `echat config` and the logs mask.
type Extra = { file?: false; secret?: true };

function setting<T>(flag: string, env: string, def: T, parse: Parser<T>, help: string, extra: Extra = {}) {
  return { flag, env, def, parse, help, file: extra.file ?? true, secret: extra.secret ?? false };
}

export const SETTINGS = {
  config: setting(
    "config",
    "ECHAT_CONFIG",
    "",
    (raw) => raw,
    'a TOML file of settings keyed by the flag names, like public-url = "https://chat.example.org"; flags and ' +
      "environment variables win over it",
    { file: false },
  ),
  port: setting("port", "PORT", 8080, int(0, 65535), "TCP port to listen on (0 picks a free one)"),
  host: setting("host", "HOST", "0.0.0.0", text, "address to bind"),
  db: setting("db", "ECHAT_DB", "./echat.db", text, "SQLite database file"),
  registration: setting(
    "registration",
    "ECHAT_REGISTRATION",
    "open" as "open" | "invite" | "closed",
    oneOf("open", "invite", "closed"),
    "who may register: open (anyone), invite (with an admin's invite code) or closed (accounts from the CLI only)",
  ),
  publicUrl: setting(
    "public-url",
    "ECHAT_PUBLIC_URL",
    "",
    (raw) =>
      raw === "" ? raw : /^https?:\/\/[^/?#]+$/.test(raw.replace(/\/$/, "")) ? raw.replace(/\/$/, "") : undefined,
    "the address users open, like https://chat.example.org, for invite and setup links (empty: from each request's Host)",
  ),
  logLevel: setting(
    "log-level",
    "ECHAT_LOG_LEVEL",
    "info" as "debug" | "info" | "warn" | "error" | "silent",
    oneOf("debug", "info", "warn", "error", "silent"),
    "debug, info, warn, error or silent",
  ),
  logFormat: setting(
    "log-format",
    "ECHAT_LOG_FORMAT",
    "text" as "text" | "json",
    oneOf("text", "json"),
    "text (human) or json (one object per line)",
  ),
  synchronous: setting(
    "synchronous",
    "ECHAT_SYNCHRONOUS",
    "full" as "full" | "normal",
    oneOf("full", "normal"),
    "full: an acknowledged message survives power loss; normal: survives crashes, not power loss",
  ),
  passwordMemoryKiB: setting(
    "password-memory",
    "ECHAT_PASSWORD_MEMORY",
    65536,
    int(8, 4194304),
    "argon2id memory cost in KiB",
  ),
  passwordTime: setting("password-time", "ECHAT_PASSWORD_TIME", 2, int(1, 100), "argon2id iterations"),
  maxMessageLength: setting(
    "max-message-length",
    "ECHAT_MAX_MESSAGE_LENGTH",
    4000,
    int(1, 16000),
    "longest message text, in Unicode code points",
  ),
  maxFileSize: setting(
    "max-file-size",
    "ECHAT_MAX_FILE_SIZE",
    25 * 1024 * 1024,
    int(1, 2 ** 40),
    "largest upload, in bytes (413 past it, the rest unread)",
  ),
  fileQuota: setting(
    "file-quota",
    "ECHAT_FILE_QUOTA",
    1024 * 1024 * 1024,
    int(0, 2 ** 50),
    "bytes of files a user may have stored, attached or not; not an abuse limit: stays with --limits off",
  ),
  uploadsPerMinute: setting(
    "uploads-per-minute",
    "ECHAT_UPLOADS_PER_MINUTE",
    30,
    int(1, 1000000),
    "file uploads per user per minute (a burst of as many, refilled evenly)",
  ),
  filesDir: setting(
    "files-dir",
    "ECHAT_FILES_DIR",
    "",
    (raw) => raw,
    "folder of uploaded files (empty: echat-files beside the database file)",
  ),
  filesS3: setting(
    "files-s3",
    "ECHAT_FILES_S3",
    "",
    (raw) => (raw === "" || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(raw) ? raw : undefined),
    "s3://bucket/prefix to keep files in S3 (credentials and endpoint from S3_* or AWS_* variables)",
  ),
  sessionIdleDays: setting(
    "session-idle-days",
    "ECHAT_SESSION_IDLE_DAYS",
    30,
    int(1, 3650),
    "a session unused this many days expires",
  ),
  sessionMaxDays: setting(
    "session-max-days",
    "ECHAT_SESSION_MAX_DAYS",
    365,
    int(1, 36500),
    "a session expires this many days after login, used or not",
  ),
  limits: setting(
    "limits",
    "ECHAT_LIMITS",
    true,
    bool,
    "abuse limits (the login, message, room and socket limits below): off for benchmarks and trusted deployments",
  ),
  loginFailsPerLogin: setting(
    "login-fails-per-login",
    "ECHAT_LOGIN_FAILS_PER_LOGIN",
    10,
    int(1, 1000000),
    "failed logins per login per minute",
  ),
  authPerAddress: setting(
    "auth-per-address",
    "ECHAT_AUTH_PER_ADDRESS",
    30,
    int(1, 1000000),
    "failed logins plus registrations per client address per minute",
  ),
  searchesPerMinute: setting(
    "searches-per-minute",
    "ECHAT_SEARCHES_PER_MINUTE",
    60,
    int(1, 1000000),
    "user and message searches per user per minute (a burst of as many, refilled evenly)",
  ),
  searchScan: setting(
    "search-scan",
    "ECHAT_SEARCH_SCAN",
    10000,
    int(1, 1000000),
    "matching messages one message search reads at most (any room; a page may come back short, with next)",
  ),
  messageBurst: setting(
    "message-burst",
    "ECHAT_MESSAGE_BURST",
    50,
    int(1, 1000000),
    "messages a user may send at once",
  ),
  messageRate: setting(
    "message-rate",
    "ECHAT_MESSAGE_RATE",
    10,
    int(1, 1000000),
    "messages per second a user may sustain",
  ),
  roomBurst: setting("room-burst", "ECHAT_ROOM_BURST", 20, int(1, 1000000), "rooms a user may create at once"),
  roomRate: setting(
    "room-rate",
    "ECHAT_ROOM_RATE",
    60,
    int(1, 1000000),
    "rooms per hour a user may go on creating after the burst",
  ),
  maxRoomsPerUser: setting(
    "max-rooms-per-user",
    "ECHAT_MAX_ROOMS_PER_USER",
    1000,
    int(1, 100000),
    "rooms a user may be in; not an abuse limit: stays with --limits off",
  ),
  maxRoomUsers: setting(
    "max-room-users",
    "ECHAT_MAX_ROOM_USERS",
    100,
    int(1, 100000),
    "members a room may have, the creator included; not an abuse limit: stays with --limits off",
  ),
  socketsPerUser: setting(
    "sockets-per-user",
    "ECHAT_SOCKETS_PER_USER",
    20,
    int(1, 1000000),
    "open WebSockets per user",
  ),
  socketsPerAddress: setting(
    "sockets-per-address",
    "ECHAT_SOCKETS_PER_ADDRESS",
    200,
    int(1, 1000000),
    "open WebSockets per client address",
  ),
  databaseUrl: setting(
    "database-url",
    "DATABASE_URL",
    "",
    (raw) => (raw === "" || /^postgres(ql)?:\/\//.test(raw) ? raw : undefined),
    "postgres://... to use PostgreSQL instead of the embedded SQLite",
    { secret: true },
  ),
  redisUrl: setting(
    "redis-url",
    "REDIS_URL",
    "",
    (raw) => (raw === "" || /^rediss?:\/\//.test(raw) ? raw : undefined),
    "redis://... to fan out across instances through Redis",
    { secret: true },
  ),
  wsIdleTimeout: setting(
    "ws-idle-timeout",
    "ECHAT_WS_IDLE_TIMEOUT",
    60,
    int(8, 960),
    "seconds before a silent WebSocket peer is dropped; the server pings before then, and a live client's pong keeps it",
  ),
  presenceTtl: setting(
    "presence-ttl",
    "ECHAT_PRESENCE_TTL",
    30,
    int(1, 3600),
    "seconds after which a crashed instance's users drop out of presence (several instances)",
  ),
  corsOrigins: setting(
    "cors-origins",
    "ECHAT_CORS_ORIGINS",
    [] as string[],
    list,
    "comma-separated origins allowed by CORS, * for any (empty: CORS off)",
  ),
  trustProxy: setting(
    "trust-proxy",
    "ECHAT_TRUST_PROXY",
    false,
    bool,
    "take the client address from the last X-Forwarded-For entry (only behind your own proxy)",
  ),
  retention: setting(
    "retention",
    "ECHAT_RETENTION",
    0,
    (raw) => {
      // 365d, 12h, 30m, 90s or plain seconds; off or 0: keep forever. At least an hour when on.
      if (raw === "off" || raw === "0") return 0;
      const m = /^(\d+)([dhms]?)$/.exec(raw);
      const seconds = m ? Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1, "": 1 }[m[2] as "d"] : 0;
      return seconds >= 3600 && seconds <= 100 * 365 * 86400 ? seconds : undefined;
    },
    "delete messages older than this: 365d, 12h, 30m, 90s or seconds, at least an hour; 0 or off: keep forever. A room's owner or an admin may set the room's own",
  ),
  pushAllowLoopback: setting(
    "push-allow-loopback",
    "ECHAT_PUSH_ALLOW_LOOPBACK",
    false,
    bool,
    "accept http: push endpoints on 127.0.0.0/8 (tests' own push services; never in production)",
  ),
  pushDelay: setting(
    "push-delay",
    "ECHAT_PUSH_DELAY",
    0,
    int(0, 86400),
    "seconds a member must stay away before a message is pushed to them (0: as soon as they have no socket open)",
  ),
  pushPreview: setting(
    "push-preview",
    "ECHAT_PUSH_PREVIEW",
    true,
    bool,
    "put the message's text in push notifications (off: only who wrote where; the device fetches the text)",
  ),
  pushContact: setting(
    "push-contact",
    "ECHAT_PUSH_CONTACT",
    "",
    (raw) => (raw === "" || /^mailto:[^\s@]+@[^\s@]+$/.test(raw) || /^https:\/\/[^\s]+$/.test(raw) ? raw : undefined),
    "the contact push services may reach about this server's pushes, mailto: or https: (empty: --public-url when https, else mailto:echat@localhost)",
  ),
};

type Settings = typeof SETTINGS;
export type Config = Readonly<{ [K in keyof Settings]: Settings[K]["def"] }>;
export type SettingKey = keyof Settings;
export type Source = "flag" | "env" | "file" | "default";

export class ConfigError extends Error {}

// Flags for parseArgs, derived from the table.
export const SETTING_FLAGS = Object.fromEntries(
  Object.values(SETTINGS).map((s) => [s.flag, { type: "string" as const }]),
);

type Flags = Record<string, string | boolean | undefined>;
type Env = Record<string, string | undefined>;

export function buildConfig(flags: Flags, env: Env = process.env): Config {
  return resolveConfig(flags, env).config;
}

// Every setting with the source of its value. The file is read only when --config or ECHAT_CONFIG names one.
export function resolveConfig(flags: Flags, env: Env = process.env) {
  const file = configFile(flags, env);
  const config: Record<string, unknown> = {};
  const sources = {} as Record<SettingKey, Source>;
  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, Settings[SettingKey]][]) {
    const fromFlag = flags[s.flag];
    const [source, raw]: [Source, string | undefined] =
      typeof fromFlag === "string"
        ? ["flag", fromFlag]
        : env[s.env] !== undefined
          ? ["env", env[s.env]]
          : file?.values[s.flag] !== undefined
            ? ["file", file.values[s.flag]]
            : ["default", undefined];
    sources[key] = source;
    if (raw === undefined) {
      config[key] = s.def;
      continue;
    }
    const value = (s.parse as Parser<unknown>)(raw);
    if (value === undefined) {
      const where = { flag: `--${s.flag}`, env: s.env, file: `${s.flag} in ${file?.path}`, default: "" }[source];
      throw new ConfigError(`invalid value for ${where}: ${JSON.stringify(raw)} (${s.help})`);
    }
    config[key] = value;
  }
  return { config: Object.freeze(config) as Config, sources, file: file?.path };
}

// The --config file: a TOML table of flag names to values. Strings go through the same parsers as flags;
// integers, booleans (on/off) and arrays of strings (comma-joined) are accepted where the setting takes them.
function configFile(flags: Flags, env: Env): { path: string; values: Record<string, string> } | undefined {
  const path = typeof flags.config === "string" ? flags.config : env[SETTINGS.config.env];
  if (!path) return undefined;
  let table: Record<string, unknown>;
  try {
    table = Bun.TOML.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === "ENOENT" ? "no such file" : e instanceof Error ? e.message.replace(/^TOML Parse error: /, "") : e;
    throw new ConfigError(`cannot read the config file ${path}: ${why}`);
  }
  const byFlag = new Map(Object.values(SETTINGS).map((s) => [s.flag, s]));
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(table)) {
    const s = byFlag.get(key);
    if (!s || !s.file) {
      const hint = s ? "it names the file itself" : "the keys are the flag names, like public-url";
      throw new ConfigError(`unknown setting ${JSON.stringify(key)} in ${path} (${hint})`);
    }
    const raw = tomlText(value, Array.isArray(s.def));
    if (raw === undefined)
      throw new ConfigError(`invalid value for ${key} in ${path}: ${Bun.inspect(value)} (${s.help})`);
    values[key] = raw;
  }
  return { path, values };
}

function tomlText(v: unknown, list: boolean): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : undefined;
  if (typeof v === "boolean") return v ? "on" : "off";
  if (list && Array.isArray(v) && v.every((x) => typeof x === "string" && !x.includes(","))) return v.join(",");
  return undefined;
}

// A URL's password as ***, for logs and `echat config`.
export function maskUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.password) return raw;
    u.password = "***";
    return u.toString();
  } catch {
    return raw.replace(/:[^:@/]*@/, ":***@");
  }
}

// Config for `echat serve`-style argv (no subcommand handling here).
export function loadConfig(argv: string[], env: Env = process.env): Config {
  const { values } = parseArgs({ args: argv, options: SETTING_FLAGS, strict: true, allowPositionals: false });
  return buildConfig(values, env);
}

export function configFor(overrides: Partial<Config>): Config {
  return Object.freeze({ ...buildConfig({}, {}), ...overrides });
}
