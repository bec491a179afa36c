// The one shape of a schema migration for both dialects: read the version, refuse a database newer
// than this echat, create the schema on an empty one, else run each forward step from the version
// found; then record the new version. Each dialect executes the plan in its own transaction, with
// its own version record (SQLite: PRAGMA user_version; PostgreSQL: echat_schema under an advisory lock).
export type Step<Tx> = (tx: Tx) => void | Promise<void>;

export type Migrations<Tx> = {
  version: number; // what this echat writes
  create: Step<Tx>; // an empty database to `version`: schema.sql
  from: Record<number, Step<Tx>>; // from[n] takes version n to n + 1
};

// The steps that take a database at `found` to the current version, in order; none when it is current.
export function planMigration<Tx>(found: number, m: Migrations<Tx>): Step<Tx>[] {
  if (found > m.version) throw new Error(`database schema version ${found} is newer than this echat (${m.version})`);
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
