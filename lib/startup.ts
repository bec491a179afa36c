// The start-up lines: one per subsystem, so that whoever reads the log knows what this instance runs
// on (README shows a sample; test/startup.test.ts keeps the two equal). Never a password.
import { dirname, join } from "node:path";
import type { Broker } from "./broker/broker.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { SCHEMA_VERSION } from "./store/migrations.ts";

type Deps = { config: Config; log: Logger; broker: Broker };

export function announceStartup({ config, log, broker }: Deps) {
  log.info(`store: ${describeStore(config)}`);
  log.info(`fan-out: ${broker.describe()}`);
  log.info(`registration: ${describeRegistration(config.registration)}`);
  log.info(`files: ${describeFiles(config)}`);
  log.info(`push: ${describePush(config.publicUrl)}`);
}

function describeStore(config: Pick<Config, "db" | "databaseUrl">): string {
  return `${describeDatabase(config)}, schema version ${SCHEMA_VERSION}`;
}

// "SQLite ./echat.db" or "PostgreSQL host:port/database": never the user or password.
export function describeDatabase(config: Pick<Config, "db" | "databaseUrl">): string {
  if (!config.databaseUrl) return `SQLite ${config.db}`;
  try {
    const u = new URL(config.databaseUrl);
    return `PostgreSQL ${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname.length > 1 ? u.pathname : ""}`;
  } catch {
    return "PostgreSQL";
  }
}

const REGISTRATION = {
  open: "open (anyone may make an account)",
  invite: "invite (an invite code is needed)",
  closed: "closed (accounts from the CLI only)",
};
const describeRegistration = (mode: Config["registration"]) => REGISTRATION[mode];

// The folder as configured (relative stays relative), as lib/files/open.ts picks it.
function describeFiles(config: Pick<Config, "db" | "filesDir" | "filesS3">): string {
  if (config.filesS3) return `S3 ${config.filesS3}`;
  return `folder ${config.filesDir || join(dirname(config.db), "echat-files").replace(/^(?![./])/, "./")}`;
}

// Browsers offer push only to https pages (and http://localhost).
function describePush(publicUrl: string): string {
  if (publicUrl.startsWith("https://")) return "VAPID key ready";
  const why = publicUrl ? `${publicUrl} is not https` : "no --public-url";
  return `VAPID key ready; browsers offer push only over https (${why}; http://localhost works for trying)`;
}
