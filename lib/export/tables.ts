// The tables of either store as export and import see them: pages of rows in primary-key order (a keyset:
// each page starts after the last key of the one before, so every page costs the same however deep),
// inserts of rows made by records.ts, and the few questions both ask. The connection given is already in
// its transaction (export: one snapshot; import: all or nothing).
import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { searchVector } from "../search/tokens.ts";
import { fillSearch, moveSequences } from "../store/postgres/migrations.ts";
import type { Dialect, RecordSpec, Row } from "./records.ts";

export interface Tables {
  dialect: Dialect;
  count(spec: RecordSpec): Promise<number>;
  // Up to `limit` rows after the key `after` (the key columns' values of the last row read; null: from the start).
  page(spec: RecordSpec, after: unknown[] | null, limit: number): Promise<Row[]>;
  insert(spec: RecordSpec, rows: Row[]): Promise<void>;
  schemaVersion(): Promise<number>;
  // No users and no rooms: what import writes into (a new database has settings such as its file secret).
  isEmpty(): Promise<boolean>;
  run(statement: string): Promise<void>;
  // After an import: what is made, not copied (the search index; PostgreSQL's id sequences).
  finish(): Promise<void>;
}

function pageQuery(spec: RecordSpec, hasAfter: boolean, param: (i: number) => string): string {
  const keys = spec.key.join(", ");
  const where = hasAfter ? `WHERE (${keys}) > (${spec.key.map((_, i) => param(i)).join(", ")})` : "";
  return `SELECT ${Object.keys(spec.columns).join(", ")} FROM ${spec.table} ${where} ORDER BY ${keys} LIMIT ${param(hasAfter ? spec.key.length : 0)}`;
}

const EMPTY = "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM rooms) AS n";

export function sqliteTables(db: Database): Tables {
  const inserts = new Map<string, ReturnType<Database["query"]>>();
  const insertFor = (spec: RecordSpec) => {
    const names = Object.keys(spec.columns);
    if (!inserts.has(spec.type))
      inserts.set(
        spec.type,
        db.query(`INSERT INTO ${spec.table} (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`),
      );
    return inserts.get(spec.type)!;
  };
  return {
    dialect: "sqlite",
    async count(spec) {
      return db.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${spec.table}`).get()!.n;
    },
    async page(spec, after, limit) {
      const q = db.query<Row, any[]>(pageQuery(spec, after !== null, () => "?"));
      return q.all(...(after ?? []), limit);
    },
    async insert(spec, rows) {
      const q = insertFor(spec);
      for (const row of rows) q.run(...(Object.values(row) as any[]));
    },
    async schemaVersion() {
      return db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
    },
    async isEmpty() {
      return db.query<{ n: number }, []>(EMPTY).get()!.n === 0;
    },
    async run(statement) {
      db.run(statement);
    },
    async finish() {
      db.run("INSERT INTO messages_search (messages_search) VALUES ('rebuild')");
    },
  };
}

export function postgresTables(tx: SQL): Tables {
  return {
    dialect: "postgres",
    async count(spec) {
      const [{ n }] = await tx.unsafe(`SELECT count(*) AS n FROM ${spec.table}`);
      return Number(n);
    },
    async page(spec, after, limit) {
      return tx.unsafe(
        pageQuery(spec, after !== null, (i) => `$${i + 1}`),
        [...(after ?? []), limit],
      );
    },
    async insert(spec, rows) {
      if (spec.table === "messages") rows = rows.map(withSearch);
      if (rows.length) await tx`INSERT INTO ${tx(spec.table)} ${tx(rows)}`;
    },
    async schemaVersion() {
      const [{ version }] = await tx`SELECT max(version) AS version FROM echat_schema`;
      return Number(version);
    },
    async isEmpty() {
      const [{ n }] = await tx.unsafe(EMPTY);
      return Number(n) === 0;
    },
    async run(statement) {
      await tx.unsafe(statement);
    },
    async finish() {
      await fillSearch(tx); // none left: messages came with their words (withSearch); a safety net
      await moveSequences(tx);
    },
  };
}

// A message's search words written with it (the store's own insert does the same): filling them afterwards
// would rewrite every row once more.
const withSearch = (row: Row): Row => ({
  ...row,
  search: row.deleted_at === null ? searchVector(Buffer.from(row.text as Uint8Array).toString()) : null,
});
