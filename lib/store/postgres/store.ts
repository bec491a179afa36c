// PostgreSQL through Bun.SQL, for several instances sharing one database. Same behaviour as
// store-sqlite.ts in everything the API shows; messages are written in batches (group commit)
// under per-room row locks, so ids commit in increasing order within a room.
import { SQL } from "bun";
import schema from "./schema.sql" with { type: "text" };
import type { Config } from "../../config.ts";
import { ApiError } from "../../errors.ts";
import type {
  Message,
  NewMessage,
  Page,
  Room,
  RoomSummary,
  Session,
  Store,
  Stored,
  User,
  UserWithHash,
} from "../store.ts";

export const SCHEMA_VERSION = 1;
const MIGRATION_LOCK = 0x6563686174; // "echat": one instance migrates, the others wait for it

type Pending = { input: NewMessage; resolve: (s: Stored) => void; reject: (e: unknown) => void };
type Row = Record<string, any>;

export type PostgresStore = Store & { sql: SQL; deployment: string };

export async function openPostgresStore(config: Pick<Config, "databaseUrl">): Promise<PostgresStore> {
  const sql = new SQL({
    url: config.databaseUrl,
    max: 10,
    connectionTimeout: 5,
    connection: { idle_session_timeout: 0 },
  });
  try {
    await migrate(sql);
  } catch (e) {
    await sql.close({ timeout: 0 });
    throw e;
  }

  // Group commit: messages that arrive while a batch is being written go into the next one.
  let queue: Pending[] = [];
  let writing: Promise<void> | null = null; // the running flush, if any
  const readChains = new Map<string, Promise<unknown>>();
  async function flush() {
    while (queue.length) {
      const batch = queue;
      queue = [];
      try {
        const results = await sql.begin((tx) =>
          writeBatch(
            tx,
            batch.map((p) => p.input),
          ),
        );
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (e) {
        const mapped = unavailable(e);
        for (const p of batch) p.reject(mapped);
      }
    }
    writing = null;
  }

  const [{ id: deployment }] = await sql`SELECT id FROM deployment`;
  const store: PostgresStore = {
    sql,
    deployment,
    async createUser(login, folded, passwordHash, now) {
      const [row] = await sql`INSERT INTO users (login, login_folded, password_hash, created_at)
        VALUES (${login}, ${folded}, ${passwordHash}, ${now}) ON CONFLICT (login_folded) DO NOTHING RETURNING id, login`;
      return row ? user(row) : null;
    },
    async findUserByLogin(folded) {
      if (folded.includes("\0")) return null; // no login holds U+0000 (validLogin), and PostgreSQL text cannot
      const [row] = await sql`SELECT id, login, password_hash FROM users WHERE login_folded = ${folded}`;
      return row ? { ...user(row), passwordHash: row.password_hash } : null;
    },
    async findUsersByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await sql`SELECT id, login FROM users WHERE id = ANY(${ids}::bigint[])`;
      const byId = new Map(rows.map((r: Row) => [Number(r.id), user(r)]));
      return ids.map((id) => byId.get(id)).filter((u): u is User => u !== undefined);
    },
    async searchUsers(folded, limit) {
      if (folded.includes("\0")) return [];
      // strpos, not LIKE: % and _ are literal. COLLATE "C" orders by code point, as SQLite does.
      const rows = await sql`SELECT id, login FROM users WHERE strpos(login_folded, ${folded}) > 0
        ORDER BY login_folded = ${folded} DESC, starts_with(login_folded, ${folded}) DESC, login_folded COLLATE "C", id
        LIMIT ${limit}`;
      return rows.map(user);
    },

    async listUsers() {
      const rows = await sql`SELECT id, login, created_at FROM users ORDER BY id`;
      return rows.map((r: Row) => ({ ...user(r), createdAt: Number(r.created_at) }));
    },

    async createSession(tokenHash, userId, now) {
      await sql`INSERT INTO sessions (token_hash, user_id, created_at, last_used_at)
        VALUES (${tokenHash}, ${userId}, ${now}, ${now})`;
    },
    async findSession(tokenHash) {
      const [row] = await sql`SELECT s.user_id, u.login, s.created_at, s.last_used_at
        FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${tokenHash}`;
      if (!row) return null;
      return {
        userId: Number(row.user_id),
        login: row.login,
        createdAt: Number(row.created_at),
        lastUsedAt: Number(row.last_used_at),
      } satisfies Session;
    },
    async deleteSession(tokenHash) {
      await sql`DELETE FROM sessions WHERE token_hash = ${tokenHash}`;
    },
    async touchSession(tokenHash, now) {
      await sql`UPDATE sessions SET last_used_at = ${now} WHERE token_hash = ${tokenHash}`;
    },
    async purgeSessions(idleBefore, createdBefore) {
      const rows =
        await sql`DELETE FROM sessions WHERE last_used_at < ${idleBefore} OR created_at < ${createdBefore} RETURNING 1`;
      return rows.length;
    },
    async changePassword(userId, passwordHash, keep) {
      await sql.begin(async (tx) => {
        await tx`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${userId}`;
        if (keep === null) await tx`DELETE FROM sessions WHERE user_id = ${userId}`;
        else await tx`DELETE FROM sessions WHERE user_id = ${userId} AND token_hash <> ${keep}`;
      });
    },

    async createRoom(memberIds, now) {
      const key = [...memberIds].sort((a, b) => a - b).join(",");
      // Two instances creating the same member set at once: the unique key lets one insert win,
      // the other waits for its commit and then finds the room.
      const id = await sql.begin(async (tx) => {
        const [created] = await tx`INSERT INTO rooms (member_key, created_at, last_activity)
          VALUES (${key}, ${now}, ${now}) ON CONFLICT (member_key) DO NOTHING RETURNING id`;
        if (!created) return Number((await tx`SELECT id FROM rooms WHERE member_key = ${key}`)[0].id);
        const members = memberIds.map((userId, position) => ({ room_id: created.id, user_id: userId, position }));
        await tx`INSERT INTO room_members ${sql(members)}`;
        return Number(created.id);
      });
      return { id, users: await roomUsers(id) };
    },
    async findRoomForMember(roomId, userId) {
      if (!(await store.isMember(roomId, userId))) return null;
      return { id: roomId, users: await roomUsers(roomId) };
    },
    async isMember(roomId, userId) {
      const rows = await sql`SELECT 1 FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
      return rows.length > 0;
    },
    async listRooms(userId) {
      const [rooms, members] = await Promise.all([
        sql`SELECT r.id, r.last_activity, l.id AS m_id, l.room_id AS m_room_id, l.user_id AS m_user_id, l.text AS m_text,
              l.client_id AS m_client_id, l.created_at AS m_created_at,
              (SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.id > m.last_read_id AND x.user_id <> m.user_id) AS unread
            FROM room_members m JOIN rooms r ON r.id = m.room_id LEFT JOIN messages l ON l.id = r.last_message_id
            WHERE m.user_id = ${userId} ORDER BY r.last_activity DESC, r.id DESC`,
        sql`SELECT m.room_id, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ${userId}) ORDER BY m.room_id, m.position`,
      ]);
      const byRoom = new Map<number, User[]>();
      for (const r of members as Row[]) {
        const room = Number(r.room_id);
        let list = byRoom.get(room);
        if (!list) byRoom.set(room, (list = []));
        list.push(user(r));
      }
      return (rooms as Row[]).map(
        (r): RoomSummary => ({
          id: Number(r.id),
          users: byRoom.get(Number(r.id)) ?? [],
          lastMessage:
            r.m_id === null
              ? null
              : message({
                  id: r.m_id,
                  room_id: r.m_room_id,
                  user_id: r.m_user_id,
                  text: r.m_text,
                  client_id: r.m_client_id,
                  created_at: r.m_created_at,
                }),
          unread: Number(r.unread),
        }),
      );
    },

    createMessage(input) {
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject });
        writing ??= flush();
      });
    },
    async listMessages(roomId, page) {
      if (page.after !== undefined) {
        return (
          await sql`SELECT * FROM messages WHERE room_id = ${roomId} AND id > ${page.after} ORDER BY id LIMIT ${page.limit}`
        ).map(message);
      }
      const rows =
        page.before !== undefined
          ? await sql`SELECT * FROM messages WHERE room_id = ${roomId} AND id < ${page.before} ORDER BY id DESC LIMIT ${page.limit}`
          : await sql`SELECT * FROM messages WHERE room_id = ${roomId} ORDER BY id DESC LIMIT ${page.limit}`;
      return rows.map(message).reverse();
    },
    markRead(roomId, userId, messageId) {
      // One user's markers in one room are applied in call order, as SQLite's single connection does,
      // so the read events that report them come out in that order too.
      const key = `${roomId}:${userId}`;
      const run = (readChains.get(key) ?? Promise.resolve()).then(async () => {
        const [row] = await sql`UPDATE room_members SET last_read_id = GREATEST(last_read_id,
          LEAST(${messageId}, COALESCE((SELECT last_message_id FROM rooms WHERE id = ${roomId}), 0)))
          WHERE room_id = ${roomId} AND user_id = ${userId} RETURNING last_read_id`;
        return row ? Number(row.last_read_id) : 0;
      });
      const tail = run.catch(() => {});
      readChains.set(key, tail);
      void tail.then(() => readChains.get(key) === tail && readChains.delete(key));
      return run;
    },

    async latestMessageIds(roomIds) {
      const rows =
        await sql`SELECT id, last_message_id FROM rooms WHERE id = ANY(${roomIds}::bigint[]) AND last_message_id IS NOT NULL`;
      return new Map(rows.map((r: Row) => [Number(r.id), Number(r.last_message_id)]));
    },
    async ping() {
      await sql`SELECT 1`;
    },
    async close() {
      await writing;
      await sql.close({ timeout: 5 });
    },
  };

  async function roomUsers(roomId: number): Promise<User[]> {
    const rows = await sql`SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
      WHERE m.room_id = ${roomId} ORDER BY m.position`;
    return rows.map(user);
  }

  return guard(store);
}

// Lock the batch's rooms in id order (no deadlock between instances), then insert. The room's
// last_message_id read under the lock is the new message's predecessor: fan-out uses it to see gaps.
async function writeBatch(tx: SQL, batch: NewMessage[]): Promise<Stored[]> {
  const roomIds = [...new Set(batch.map((m) => m.roomId))].sort((a, b) => a - b);
  const locked =
    await tx`SELECT id, last_message_id FROM rooms WHERE id = ANY(${roomIds}::bigint[]) ORDER BY id FOR UPDATE`;
  const last = new Map<number, number | null>(
    locked.map((r: Row) => [Number(r.id), r.last_message_id === null ? null : Number(r.last_message_id)]),
  );
  const touched = new Map<number, Message>();
  const out: Stored[] = [];
  for (const input of batch) {
    const clientId = input.clientId === null ? null : Buffer.from(input.clientId);
    if (clientId !== null) {
      const [earlier] = await tx`SELECT * FROM messages
        WHERE room_id = ${input.roomId} AND user_id = ${input.userId} AND client_id = ${clientId}`;
      if (earlier) {
        out.push({ message: message(earlier), duplicate: true });
        continue;
      }
    }
    const [row] = await tx`INSERT INTO messages (room_id, user_id, text, client_id, created_at)
      VALUES (${input.roomId}, ${input.userId}, ${Buffer.from(input.text)}, ${clientId}, ${input.now}) RETURNING id`;
    const m: Message = {
      id: Number(row.id),
      roomId: input.roomId,
      userId: input.userId,
      text: input.text,
      clientId: input.clientId,
      createdAt: input.now,
    };
    out.push({ message: m, duplicate: false, prev: last.get(input.roomId) ?? null });
    last.set(input.roomId, m.id);
    touched.set(input.roomId, m);
  }
  for (const [roomId, m] of touched) {
    await tx`UPDATE rooms SET last_message_id = ${m.id}, last_activity = ${m.createdAt} WHERE id = ${roomId}`;
  }
  return out;
}

async function migrate(sql: SQL) {
  await sql.begin(async (tx) => {
    // Several instances starting at once: the first takes the lock and applies the schema, the rest wait
    // and then find the version already there.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS echat_schema (version integer NOT NULL)`;
    const [row] = await tx`SELECT version FROM echat_schema`;
    const version: number = row?.version ?? 0;
    if (version > SCHEMA_VERSION)
      throw new Error(`database schema version ${version} is newer than this echat (${SCHEMA_VERSION})`);
    if (version === SCHEMA_VERSION) return;
    if (version === 0) await tx.unsafe(schema);
    // Later versions: if (version < 2) await migrateFrom1(tx); ...
    await tx`DELETE FROM echat_schema`;
    await tx`INSERT INTO echat_schema (version) VALUES (${SCHEMA_VERSION})`;
  });
}

// A lost or refused connection is the database being away, not a bug: 503 unavailable. Bun's pool
// opens new connections by itself once the server is back.
export function isConnectionError(e: unknown): boolean {
  const { code, errno } = (e ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code === "string" && /^ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT)/.test(code)) return true;
  return typeof errno === "string" && /^(08|57P)/.test(errno); // connection exception, admin/crash shutdown
}

function unavailable(e: unknown): unknown {
  return isConnectionError(e) ? new ApiError("unavailable") : e;
}

function guard<T extends object>(store: T): T {
  for (const [name, fn] of Object.entries(store)) {
    if (typeof fn !== "function" || name === "sql") continue; // sql is the client itself, not a method
    (store as Record<string, unknown>)[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve(fn(...args)).catch((e) => Promise.reject(unavailable(e)));
      } catch (e) {
        return Promise.reject(unavailable(e));
      }
    };
  }
  return store;
}

function user(r: Row): User {
  return { id: Number(r.id), login: r.login };
}

function message(r: Row): Message {
  return {
    id: Number(r.id),
    roomId: Number(r.room_id),
    userId: Number(r.user_id),
    text: Buffer.from(r.text).toString(),
    clientId: r.client_id === null ? null : Buffer.from(r.client_id).toString(),
    createdAt: Number(r.created_at),
  };
}
