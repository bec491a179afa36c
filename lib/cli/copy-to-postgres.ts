// Moving up: copy a live SQLite database (users, sessions, rooms, members, messages with their ids and
// seqs, room events, read markers, invites, mentions, files' rows and settings such as the file secret) into an empty PostgreSQL database, then compare counts. The SQLite file is read in
// one read transaction (a consistent snapshot while the server keeps writing); PostgreSQL is written
// in one transaction, so a failed copy leaves it empty.
import { Database } from "bun:sqlite";
import { type SQL } from "bun";
import { newPublicId } from "../auth/registration.ts";
import { openPostgres, SERVED, servingConnections } from "../store/postgres/store.ts";
import { refoldUsers } from "../store/postgres/users.ts";
import { fillRoomOrder, fillSearch, moveSequences } from "../store/postgres/migrations.ts";

const TABLES = [
  "users",
  "sessions",
  "rooms",
  "room_members",
  "messages",
  "room_events",
  "invites",
  "mentions",
  "files",
  "settings",
  "push_subscriptions",
] as const;
type Table = (typeof TABLES)[number];
export type Counts = Record<Table, number>;

const BATCH = 1000;

export class MigrateError extends Error {}

const older = (lite: Database, version: number) =>
  lite.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version < version;

export async function migrateToPostgres(sqlitePath: string, databaseUrl: string): Promise<Counts> {
  const lite = new Database(sqlitePath, { readonly: true, strict: true });
  const { store, pg } = await openPostgres({ databaseUrl });
  const { sql } = pg;
  try {
    const [{ n }] = await sql`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM rooms) AS n`;
    if (Number(n) !== 0)
      throw new MigrateError("the PostgreSQL database is not empty: migrate only into a new database");
    if ((await servingConnections(sql)) > 0) throw new MigrateError(SERVED);

    lite.run("BEGIN"); // one snapshot of the live file for every table
    const copied = {} as Counts;
    try {
      await sql.begin(async (tx) => {
        // A database a server once started on is empty but has its own keys, files-folder mark and first-admin
        // setup link: the SQLite deployment's keys replace them (its signed URLs and push subscriptions go on
        // working), and a start without an admin makes a new link.
        await tx`DELETE FROM settings`;
        await tx`DELETE FROM invites`;
        for (const table of TABLES) copied[table] = await copyTable(lite, tx, table);
        await refoldUsers(tx); // a file of an older schema holds the folds of an older validate.ts
        // A file older than the room's order (schema 6): seqs and creation events as the migration makes them. By
        // its version: retention may leave a newer file with no room events at all.
        if (older(lite, 6) && copied.rooms > 0) copied.room_events = await fillRoomOrder(tx);
        await fillSearch(tx); // the search words are made, not copied: SQLite's index is its own
        await moveSequences(tx); // ids were copied as they were
      });
    } finally {
      lite.run("COMMIT");
    }

    for (const table of TABLES) {
      const [{ n }] = await sql.unsafe(`SELECT count(*) AS n FROM ${table}`);
      if (Number(n) !== copied[table]) {
        throw new MigrateError(`${table}: ${copied[table]} rows in SQLite but ${n} in PostgreSQL`);
      }
    }
    return copied;
  } finally {
    lite.close();
    await store.close();
  }
}

async function copyTable(lite: Database, tx: SQL, table: Table): Promise<number> {
  const exists = lite.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table);
  if (!exists) return 0; // a file of an older schema (invites came with version 5)
  // WITHOUT ROWID tables: their key.
  const order =
    {
      sessions: "1, 2",
      room_members: "1, 2",
      invites: "1",
      mentions: "1, 2, 3",
      settings: "1",
      push_subscriptions: "1",
    }[table as string] ?? "id";
  const page = lite.query<Record<string, any>, [number, number]>(
    `SELECT * FROM ${table} ORDER BY ${order} LIMIT ? OFFSET ?`,
  );
  let total = 0;
  for (;;) {
    const rows = page.all(BATCH, total).map((r) => toPostgres(table, r));
    if (rows.length === 0) return total;
    await tx`INSERT INTO ${tx(table)} ${tx(rows)}`;
    total += rows.length;
  }
}

// PostgreSQL keeps message text and client ids as bytes (it cannot hold U+0000 in text), and flags as
// booleans; a session from a file older than schema 5 gets a public id here.
function toPostgres(table: Table, row: Record<string, any>): Record<string, unknown> {
  const flag = (v: unknown) => (v === undefined ? undefined : v === 1);
  if (table === "users") return withoutUndefined({ ...row, admin: flag(row.admin), disabled: flag(row.disabled) });
  if (table === "invites") return { ...row, admin: flag(row.admin) };
  if (table === "sessions") return { ...row, public_id: row.public_id ?? newPublicId() };
  if (table === "rooms") return withoutUndefined({ ...row, public: flag(row.public), archived: flag(row.archived) });
  if (table !== "messages") return row;
  return { ...row, text: Buffer.from(row.text), client_id: row.client_id === null ? null : Buffer.from(row.client_id) };
}

const withoutUndefined = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined));
