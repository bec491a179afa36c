// The embedded default: bun:sqlite, WAL; this connection for accounts, rooms and reads, a writer worker for messages.
import { Database } from "bun:sqlite";
import schema from "./schema.sql" with { type: "text" };
import type { Config } from "../../config.ts";
import { MESSAGE } from "./columns.ts";
import { startMessageWriter } from "./writer.ts";
import type { Message, Page, Room, RoomSummary, Session, Store, User, UserRow, UserWithHash } from "../store.ts";

const SCHEMA_VERSION = 2;

export function openSqliteStore(config: Config): Store {
  const db = new Database(config.db, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  // FULL: a commit is fsynced before it returns, so an ack survives power loss.
  db.run(`PRAGMA synchronous = ${config.synchronous === "full" ? "FULL" : "NORMAL"}`);
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA busy_timeout = 5000");
  // Checkpoints copy the WAL into the database file: the message writer runs them on its own
  // thread, so a login or a read marker never pays for one on the thread that serves sockets.
  db.run("PRAGMA wal_autocheckpoint = 0");
  migrate(db);

  const q = {
    insertUser: db.query<User, [string, string, string, number]>(
      "INSERT INTO users (login, login_folded, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (login_folded) DO NOTHING RETURNING id, login",
    ),
    userByLogin: db.query<UserWithHash, [string]>(
      "SELECT id, login, password_hash AS passwordHash FROM users WHERE login_folded = ?",
    ),
    userById: db.query<User, [number]>("SELECT id, login FROM users WHERE id = ?"),
    allUsers: db.query<UserRow, []>("SELECT id, login, created_at AS createdAt FROM users ORDER BY id"),
    // instr(), not LIKE: % and _ in the query are literal.
    searchUsers: db.query<User, [string, string, string, number]>(
      `SELECT id, login FROM users WHERE instr(login_folded, ?1) > 0
       ORDER BY login_folded = ?2 DESC, substr(login_folded, 1, length(?3)) = ?3 DESC, login_folded, id LIMIT ?4`,
    ),

    insertSession: db.query<never, [Uint8Array, number, number, number]>(
      "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
    ),
    sessionByHash: db.query<Session, [Uint8Array]>(
      `SELECT s.user_id AS userId, u.login, s.created_at AS createdAt, s.last_used_at AS lastUsedAt
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`,
    ),
    deleteSession: db.query<never, [Uint8Array]>("DELETE FROM sessions WHERE token_hash = ?"),
    touchSession: db.query<never, [number, Uint8Array]>("UPDATE sessions SET last_used_at = ? WHERE token_hash = ?"),
    purgeSessions: db.query<never, [number, number]>("DELETE FROM sessions WHERE last_used_at < ? OR created_at < ?"),
    setPassword: db.query<never, [string, number]>("UPDATE users SET password_hash = ? WHERE id = ?"),
    deleteOtherSessions: db.query<never, [number, Uint8Array | null]>(
      "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash != ?2)",
    ),

    roomByKey: db.query<{ id: number }, [string]>("SELECT id FROM rooms WHERE member_key = ?"),
    insertRoom: db.query<{ id: number }, [string, number, number]>(
      "INSERT INTO rooms (member_key, created_at, last_activity) VALUES (?, ?, ?) RETURNING id",
    ),
    insertMember: db.query<never, [number, number, number]>(
      "INSERT INTO room_members (room_id, user_id, position) VALUES (?, ?, ?)",
    ),
    isMember: db.query<{ one: number }, [number, number]>(
      "SELECT 1 AS one FROM room_members WHERE room_id = ? AND user_id = ?",
    ),
    roomUsers: db.query<User, [number]>(
      `SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
       WHERE m.room_id = ? ORDER BY m.position`,
    ),
    userRooms: db.query<{ id: number; lastMessageId: number | null; unread: number }, [number]>(
      `SELECT r.id, r.last_message_id AS lastMessageId,
         (SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.id > m.last_read_id AND x.user_id != m.user_id) AS unread
       FROM room_members m JOIN rooms r ON r.id = m.room_id
       WHERE m.user_id = ? ORDER BY r.last_activity DESC, r.id DESC`,
    ),
    userRoomsMembers: db.query<User & { roomId: number }, [number]>(
      `SELECT m.room_id AS roomId, u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id
       WHERE m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ?) ORDER BY m.room_id, m.position`,
    ),

    messageById: db.query<Message, [number]>(`SELECT ${MESSAGE} FROM messages WHERE id = ?`),
    // Reads stop at the newest message handed back to the writer's callers: one committed by the
    // worker but not yet acked and published must not reach a resuming socket before its publish.
    latest: db.query<Message, [number, number, number]>(
      `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id <= ? ORDER BY id DESC LIMIT ?`,
    ),
    before: db.query<Message, [number, number, number, number]>(
      `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id < ? AND id <= ? ORDER BY id DESC LIMIT ?`,
    ),
    after: db.query<Message, [number, number, number, number]>(
      `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
    ),
    newestMessage: db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM messages"),
    // Never backwards, and never past the room's newest message (else later messages would arrive read).
    markRead: db.query<{ last_read_id: number }, [number, number, number]>(
      `UPDATE room_members SET last_read_id = max(last_read_id,
         min(?1, coalesce((SELECT last_message_id FROM rooms WHERE id = ?2), 0)))
       WHERE room_id = ?2 AND user_id = ?3 RETURNING last_read_id`,
    ),
  };

  const createRoom = db.transaction((memberIds: number[], now: number): number => {
    const key = [...memberIds].sort((a, b) => a - b).join(",");
    const existing = q.roomByKey.get(key);
    if (existing) return existing.id;
    const { id } = q.insertRoom.get(key, now, now)!;
    memberIds.forEach((userId, position) => q.insertMember.run(id, userId, position));
    return id;
  });

  const changePassword = db.transaction((userId: number, passwordHash: string, keep: Uint8Array | null) => {
    q.setPassword.run(passwordHash, userId);
    q.deleteOtherSessions.run(userId, keep);
  });

  // Messages are written by a worker thread with group commit: see store-sqlite-writer.ts.
  const writer = startMessageWriter(config, q.newestMessage.get()!.id ?? 0);

  const store: Store = {
    async createUser(login, folded, passwordHash, now) {
      return q.insertUser.get(login, folded, passwordHash, now);
    },
    async findUserByLogin(folded) {
      return q.userByLogin.get(folded);
    },
    async findUsersByIds(ids) {
      return ids.map((id) => q.userById.get(id)).filter((u): u is User => u !== null);
    },
    async searchUsers(folded, limit) {
      return q.searchUsers.all(folded, folded, folded, limit);
    },

    async createSession(tokenHash, userId, now) {
      q.insertSession.run(tokenHash, userId, now, now);
    },
    async findSession(tokenHash) {
      return q.sessionByHash.get(tokenHash);
    },
    async deleteSession(tokenHash) {
      q.deleteSession.run(tokenHash);
    },
    async touchSession(tokenHash, now) {
      q.touchSession.run(now, tokenHash);
    },
    async purgeSessions(idleBefore, createdBefore) {
      return q.purgeSessions.run(idleBefore, createdBefore).changes;
    },
    async listUsers() {
      return q.allUsers.all();
    },
    async changePassword(userId, passwordHash, keep) {
      changePassword.immediate(userId, passwordHash, keep);
    },

    async createRoom(memberIds, now) {
      const id = createRoom.immediate(memberIds, now);
      return { id, users: q.roomUsers.all(id) };
    },
    async findRoomForMember(roomId, userId) {
      if (!q.isMember.get(roomId, userId)) return null;
      return { id: roomId, users: q.roomUsers.all(roomId) };
    },
    async isMember(roomId, userId) {
      return q.isMember.get(roomId, userId) !== null;
    },
    async listRooms(userId) {
      const members = new Map<number, User[]>();
      for (const { roomId, id, login } of q.userRoomsMembers.all(userId)) {
        let list = members.get(roomId);
        if (!list) members.set(roomId, (list = []));
        list.push({ id, login });
      }
      return q.userRooms.all(userId).map(
        (r): RoomSummary => ({
          id: r.id,
          users: members.get(r.id) ?? [],
          lastMessage: r.lastMessageId === null ? null : q.messageById.get(r.lastMessageId),
          unread: r.unread,
        }),
      );
    },

    createMessage(input) {
      return writer.write(input);
    },
    async listMessages(roomId, page) {
      const upTo = writer.visibleUpTo();
      if (page.after !== undefined) return q.after.all(roomId, page.after, upTo, page.limit);
      const rows =
        page.before !== undefined
          ? q.before.all(roomId, page.before, upTo, page.limit)
          : q.latest.all(roomId, upTo, page.limit);
      return rows.reverse();
    },
    async markRead(roomId, userId, messageId) {
      return q.markRead.get(messageId, roomId, userId)?.last_read_id ?? 0;
    },

    async ping() {
      db.query("SELECT 1").get();
    },
    async backup(file) {
      // One read transaction: safe while the server writes, and the copy is a complete database.
      db.run("VACUUM INTO ?", [file]);
    },
    async close() {
      await writer.close();
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      db.close();
    },
  };
  return store;
}

function migrate(db: Database) {
  const { user_version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
  if (user_version === SCHEMA_VERSION) return;
  if (user_version > SCHEMA_VERSION) {
    throw new Error(`database schema version ${user_version} is newer than this echat (${SCHEMA_VERSION})`);
  }
  db.transaction(() => {
    if (user_version === 0) db.run(schema);
    else if (user_version < 2) migrateFrom1(db);
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

// 1 -> 2: the unique client_id index took a random page write per message; idempotency now comes
// from each sender's recent client_ids, read through an index appended in id order.
function migrateFrom1(db: Database) {
  db.run("DROP INDEX messages_client");
  db.run("CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL");
}
