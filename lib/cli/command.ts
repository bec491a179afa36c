// What every CLI command is made of: its shape, its context, its two kinds of failure, and the store it
// opens beside a running server. The COMMANDS table is in commands.ts.
import { existsSync } from "node:fs";
import type { ParseArgsOptionsConfig } from "node:util";
import type { Running } from "../../server.ts";
import { type Config, type SettingKey, SETTINGS } from "../config.ts";
import { openDatabase } from "../store/open.ts";
import type { Store } from "../store/store.ts";

export type App = {
  version: string;
  startServer: (config: Config) => Promise<Running>;
};

type Values = Record<string, string | boolean | undefined>;
export type Context = { app: App; config: Config; args: string[]; values: Values };

export type Command = {
  args: string[]; // positional argument names, all required
  summary: string;
  options?: ParseArgsOptionsConfig; // flags of this command only
  // The settings it reads, which its --help lists and its flags accept; absent: STORE_SETTINGS.
  settings?: readonly SettingKey[] | "all";
  run: (ctx: Context) => Promise<number>;
};

// What opening the database beside a server reads (lib/store/open.ts and the SQLite store).
export const STORE_SETTINGS: readonly SettingKey[] = ["config", "db", "databaseUrl", "synchronous"];
export const settingsOf = (cmd: Command): readonly SettingKey[] =>
  cmd.settings === "all" ? (Object.keys(SETTINGS) as SettingKey[]) : (cmd.settings ?? STORE_SETTINGS);

// Times as the API writes them: UTC, to the second.
export const isoSeconds = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";

export class UsageError extends Error {} // exit 2
export class Failure extends Error {} // exit 1

export const out = (line: string) => process.stdout.write(line + "\n");
export const err = (line: string) => process.stderr.write(line + "\n");

export async function withStore<T>(config: Config, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  if (!config.databaseUrl && !create && !existsSync(config.db))
    throw new Failure(`no database at ${config.db} (set --db or ECHAT_DB)`);
  const { store } = await openDatabase(config, { serving: false }).catch((e) => {
    throw new Failure(
      `cannot open ${config.databaseUrl ? "the database" : config.db}: ${e instanceof Error ? e.message : e}`,
    );
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
