// PostgreSQL schema versions, recorded in echat_schema; the plan is lib/store/migrations.ts.
import type { SQL } from "bun";
import { type Migrations, planMigration, SCHEMA_VERSION, type SchemaUpgrade, UpgradeFailed } from "../migrations.ts";
import schema from "./schema.sql" with { type: "text" };
import { refoldUsers } from "./users.ts";
import { searchVector } from "../../search/tokens.ts";

const MIGRATION_LOCK = 0x6563686174; // "echat": one instance migrates, the others wait for it

export const POSTGRES_MIGRATIONS: Migrations<SQL> = {
  version: SCHEMA_VERSION,
  create: async (tx) => {
    await tx.unsafe(schema);
  },
  from: {
    1: migrateFrom1,
    2: foldLoginsNfkcAndIndexSearch,
    3: addUnreadCounters,
    4: addAdminsInvitesAndSessionDetails,
    5: addRoomOrder,
    6: addMessageChangesAndSearch,
    7: addFiles,
    // 8 -> 9: notification levels per member, as on SQLite.
    8: async (tx) => void (await tx`ALTER TABLE room_members ADD COLUMN notify text`),
    // 9 -> 10: Web Push subscriptions, as on SQLite.
    9: (tx) => schemaBlock(tx, 10),
    // 10 -> 11: the push queue, and each room's retention, as on SQLite.
    10: async (tx) => {
      await tx`ALTER TABLE rooms ADD COLUMN retention bigint`;
      await schemaBlock(tx, 11);
    },
  },
};

// One transaction for the whole upgrade: a failed step leaves the database as it was (no copy needed).
export async function migratePostgres(sql: SQL): Promise<SchemaUpgrade | undefined> {
  return sql.begin(async (tx) => {
    // Several instances starting at once: the first takes the lock and migrates, the rest wait
    // and then find the version already there.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS echat_schema (version integer NOT NULL)`;
    const [row] = await tx`SELECT version FROM echat_schema`;
    const from: number = row?.version ?? 0;
    const steps = planMigration(from, POSTGRES_MIGRATIONS);
    if (steps.length === 0) return undefined;
    const upgrade: SchemaUpgrade = { from, to: POSTGRES_MIGRATIONS.version };
    try {
      for (const step of steps) await step(tx);
    } catch (e) {
      throw new UpgradeFailed(upgrade, e);
    }
    await tx`DELETE FROM echat_schema`;
    await tx`INSERT INTO echat_schema (version) VALUES (${upgrade.to})`;
    return upgrade;
  });
}

// 1 -> 2: client_ids are recognized within the same window as on SQLite (docs/api.md), so a
// client_id may be stored again once forgotten: the unique index becomes a plain one, and the
// sender's messages with a client_id get an index in id order for counting the window.
async function migrateFrom1(tx: SQL) {
  await tx`DROP INDEX messages_client`;
  await tx`CREATE INDEX messages_client ON messages(room_id, user_id, client_id) WHERE client_id IS NOT NULL`;
  await tx`CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL`;
}

// 2 -> 3: logins fold with NFKC (validate.ts foldLogin): every stored fold is recomputed (old accounts the new
// fold merges stay apart and keep logging in: storedFold); search gets its code-point and trigram indexes.
async function foldLoginsNfkcAndIndexSearch(tx: SQL) {
  await refoldUsers(tx);
  await tx`CREATE EXTENSION IF NOT EXISTS pg_trgm`;
  await tx`CREATE INDEX IF NOT EXISTS users_folded_order ON users (login_folded COLLATE "C")`;
  await tx`CREATE INDEX IF NOT EXISTS users_folded_trgm ON users USING gin (login_folded gin_trgm_ops)`;
}

// 3 -> 4: unread counts were a count(*) per room on every room list; they become counters, filled
// here once from the messages (see schema.sql).
async function addUnreadCounters(tx: SQL) {
  await tx`ALTER TABLE rooms ADD COLUMN message_count bigint NOT NULL DEFAULT 0`;
  await tx`ALTER TABLE room_members ADD COLUMN sent bigint NOT NULL DEFAULT 0,
    ADD COLUMN read_count bigint NOT NULL DEFAULT 0, ADD COLUMN read_sent bigint NOT NULL DEFAULT 0`;
  await tx`UPDATE rooms r SET message_count = c.n FROM (SELECT room_id, count(*) AS n FROM messages GROUP BY room_id) c
    WHERE c.room_id = r.id`;
  await tx`UPDATE room_members m SET sent = c.sent, read_count = c.read_count, read_sent = c.read_sent
    FROM (SELECT m2.room_id, m2.user_id,
            count(*) FILTER (WHERE x.user_id = m2.user_id) AS sent,
            count(*) FILTER (WHERE x.id <= m2.last_read_id) AS read_count,
            count(*) FILTER (WHERE x.id <= m2.last_read_id AND x.user_id = m2.user_id) AS read_sent
          FROM room_members m2 JOIN messages x ON x.room_id = m2.room_id GROUP BY m2.room_id, m2.user_id) c
    WHERE c.room_id = m.room_id AND c.user_id = m.user_id`;
}

// 4 -> 5: admins, disabled and deleted accounts, invites (from schema.sql), and sessions with a random
// public id and where they came from.
async function addAdminsInvitesAndSessionDetails(tx: SQL) {
  await tx`ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false,
    ADD COLUMN disabled boolean NOT NULL DEFAULT false, ADD COLUMN last_seen_at bigint, ADD COLUMN deleted_at bigint`;
  await tx`UPDATE users u SET last_seen_at = s.at FROM (SELECT user_id, max(last_used_at) AS at FROM sessions
    GROUP BY user_id) s WHERE s.user_id = u.id`;
  await tx`ALTER TABLE sessions ADD COLUMN public_id text, ADD COLUMN user_agent text, ADD COLUMN address text`;
  await tx`UPDATE sessions SET public_id = replace(gen_random_uuid()::text, '-', '')`;
  await tx`ALTER TABLE sessions ALTER COLUMN public_id SET NOT NULL`;
  await tx`DROP INDEX sessions_user`;
  await tx`CREATE UNIQUE INDEX sessions_user ON sessions(user_id, public_id)`;
  const invites = schema.slice(schema.indexOf("-- Invite codes by their SHA-256"));
  await tx.unsafe(invites);
}

// 5 -> 6: groups and the room's order, as on SQLite (sqlite/migrations.ts).
async function addRoomOrder(tx: SQL) {
  await tx`ALTER TABLE rooms ADD COLUMN kind text NOT NULL DEFAULT 'direct', ADD COLUMN name text,
    ADD COLUMN name_folded text, ADD COLUMN topic text, ADD COLUMN public boolean NOT NULL DEFAULT false,
    ADD COLUMN owner_id bigint, ADD COLUMN archived boolean NOT NULL DEFAULT false,
    ADD COLUMN seq bigint NOT NULL DEFAULT 0`;
  await tx`ALTER TABLE messages ADD COLUMN seq bigint NOT NULL DEFAULT 0`;
  await tx`CREATE INDEX rooms_public ON rooms(id) WHERE public AND NOT archived`;
  await tx`CREATE TABLE room_events (
    id bigserial PRIMARY KEY, room_id bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE, seq bigint NOT NULL,
    kind text NOT NULL, by_id bigint NOT NULL, body text NOT NULL, created_at bigint NOT NULL, UNIQUE (room_id, seq))`;
  await fillRoomOrder(tx);
}

// Rooms from before the room's order: each gets the creation event a new room gets (members: everyone, by
// its first member) as seq 1, its messages the following seqs in id order. Also for `echat migrate` of an
// older SQLite file. Returns how many events it made.
export async function fillRoomOrder(tx: SQL): Promise<number> {
  await tx`UPDATE messages m SET seq = x.n + 1
    FROM (SELECT id, row_number() OVER (PARTITION BY room_id ORDER BY id) AS n FROM messages) x WHERE x.id = m.id`;
  await tx`UPDATE rooms SET seq = message_count + 1`;
  const made = await tx`INSERT INTO room_events (room_id, seq, kind, by_id, body, created_at)
    SELECT r.id, 1, 'members', coalesce(u.users->0->>'id', '0')::bigint,
      json_build_object('users', coalesce(u.users, '[]'::json), 'added', coalesce(u.ids, '[]'::json), 'removed', '[]'::json)::text,
      r.created_at
    FROM rooms r LEFT JOIN LATERAL (
      SELECT json_agg(json_build_object('id', x.id, 'login', x.login) ORDER BY m.position) AS users,
             json_agg(x.id ORDER BY m.position) AS ids
      FROM room_members m JOIN users x ON x.id = m.user_id WHERE m.room_id = r.id) u ON true`;
  return made.count;
}

// 6 -> 7: edits, deletes, replies, reactions and mentions, as on SQLite; the search words of every stored
// message, made in pages by lib/search/tokens.ts (the same words new messages get).
async function addMessageChangesAndSearch(tx: SQL) {
  await tx`ALTER TABLE messages ADD COLUMN edited_at bigint, ADD COLUMN reply_to bigint, ADD COLUMN mentions text,
    ADD COLUMN reactions text, ADD COLUMN deleted_at bigint, ADD COLUMN search tsvector`;
  await tx`CREATE TABLE mentions (user_id bigint NOT NULL, room_id bigint NOT NULL, message_id bigint NOT NULL,
    PRIMARY KEY (user_id, room_id, message_id))`;
  await fillSearch(tx);
  await tx`CREATE INDEX messages_search ON messages USING gin (search)`;
}

// Search words for the messages that have none yet (also for `echat migrate` of an older SQLite file).
export async function fillSearch(tx: SQL) {
  for (let after = 0; ; ) {
    const rows: { id: string; text: Uint8Array }[] = await tx`SELECT id, text FROM messages
      WHERE id > ${after} AND search IS NULL AND deleted_at IS NULL ORDER BY id LIMIT 1000`;
    if (rows.length === 0) return;
    const ids = rows.map((r) => Number(r.id));
    const vectors = rows.map((r) => searchVector(Buffer.from(r.text).toString()));
    await tx`UPDATE messages m SET search = v.search::tsvector
      FROM (SELECT unnest(${ids}::bigint[]) AS id, unnest(${vectors}::text[]) AS search) v WHERE m.id = v.id`;
    after = ids.at(-1)!;
  }
}

// Rows copied in with their ids (`echat migrate`, `echat import`): each sequence moves past them, so the
// next row takes the next id.
export async function moveSequences(tx: SQL) {
  for (const table of ["users", "rooms", "messages", "room_events", "files"]) {
    await tx.unsafe(
      `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM ${table}`,
    );
  }
}

// 7 -> 8: files and server settings, and the rooms' file epoch, as on SQLite.
async function addFiles(tx: SQL) {
  await tx`ALTER TABLE rooms ADD COLUMN file_epoch bigint NOT NULL DEFAULT 0`;
  await tx`ALTER TABLE messages ADD COLUMN files text`;
  await schemaBlock(tx, 8);
}

// The tables a version added, from schema.sql's "-- version N: begin" to its end.
async function schemaBlock(tx: SQL, version: number) {
  const from = schema.indexOf(`-- version ${version}: begin`);
  const to = schema.indexOf(`-- version ${version}: end`);
  if (from < 0 || to < from) throw new Error(`schema.sql: the version ${version} block moved`);
  await tx.unsafe(schema.slice(from, to));
}
