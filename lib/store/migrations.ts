// The one shape of a schema migration for both dialects: read the version, refuse a database newer
// than this echat, create the schema on an empty one, else run each forward step from the version
// found; then record the new version. Each dialect executes the plan in its own transaction, with
// its own version record (SQLite: PRAGMA user_version; PostgreSQL: echat_schema under an advisory lock).
export type Step<Tx> = (tx: Tx) => void | Promise<void>;

// The schema version this echat writes, the same on both stores; `echat version` and the start-up line
// show it. A database at a lower version is upgraded at start, one at a higher version refused.
export const SCHEMA_VERSION = 11;

// What opening a database did to its schema, for the start-up log: `from` < `to` when it was upgraded;
// backup: the copy of the database taken just before (SQLite; PostgreSQL upgrades in one transaction).
export type SchemaUpgrade = { from: number; to: number; backup?: string };

// The database was upgraded by a newer echat: this one must not touch it (docs/deploy.md, Downgrading).
export class SchemaTooNew extends Error {
  constructor(found: number, known: number) {
    super(
      `the database has schema version ${found}, newer than this echat's ${known}: a newer echat upgraded it. ` +
        `Run an echat whose \`echat version\` says schema ${found} (or later), or restore the backup taken ` +
        `before the upgrade (docs/deploy.md, "Downgrading")`,
    );
  }
}

export type Migrations<Tx> = {
  version: number; // what this echat writes
  create: Step<Tx>; // an empty database to `version`: schema.sql
  from: Record<number, Step<Tx>>; // from[n] takes version n to n + 1
};

// A step failed: its transaction is rolled back, so the database is as it was.
export class UpgradeFailed extends Error {
  constructor(upgrade: SchemaUpgrade, cause: unknown) {
    const copy = upgrade.backup ? `; a copy taken before is at ${upgrade.backup}` : "";
    super(
      `upgrading the database from schema ${upgrade.from} to ${upgrade.to} failed and was rolled back, the ` +
        `database is unchanged${copy}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

// The steps that take a database at `found` to the current version, in order; none when it is current.
export function planMigration<Tx>(found: number, m: Migrations<Tx>): Step<Tx>[] {
  if (found > m.version) throw new SchemaTooNew(found, m.version);
  if (found === m.version) return [];
  if (found === 0) return [m.create];
  const steps: Step<Tx>[] = [];
  for (let v = found; v < m.version; v++) {
    const step = m.from[v];
    if (!step) throw new Error(`no migration from database schema version ${v}`);
    steps.push(step);
  }
  return steps;
}
