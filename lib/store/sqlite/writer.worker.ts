// The message writer, on its own thread with its own connection: a commit's fsync never blocks
// the thread that serves sockets. It writes one batch at a time, in the order given, and
// answers only after the commit returned, so an ack always means "on disk" (with FULL).
import { Database } from "bun:sqlite";
import { CLIENT_ID_WINDOW, type FileRef, type Message } from "../store.ts";
import type { NotStored } from "../members.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";
import { type Row, unpack } from "./batch.ts";
import { prepareRepliesAndMentions } from "./replies-mentions.ts";
import { prepareFileLinks } from "./file-links.ts";
import { createMessageChanges, type MessageChanges } from "./message-changes.ts";
import { createRetention, type Retention } from "./retention.ts";
import { createRoomChanges } from "./room-changes.ts";
import type { Reply, Request } from "./writer.ts";

declare const self: Worker;

let db: Database;
let writeBatch: (rows: Row[]) => Written;
let changeRoom: ReturnType<typeof createRoomChanges>;
let changeMessage: MessageChanges;
let retention: Retention;
// A number is the new message's id (its seq at the same index of seqs); a Message is the earlier one
// with the same client_id (seq 0); null or "message_not_found": refused (members.ts NotStored).
// mentions: [index in results, the ids its text mentions] for each new message that mentions someone;
// files: [index in results, its files] for each new message with files.
type Written = {
  results: (number | Message | NotStored)[];
  seqs: number[];
  mentions: [number, number[]][];
  files: [number, FileRef[]][];
};
let checkpoints: Timer | undefined;
// A delete's WAL truncation found readers in the way: the checkpoint timer truncates until it succeeds.
let truncateOwed = false;

// Idempotent sends without a unique index on client_id (random ids made it a random page write
// per message, about 10 µs, docs/performance.md): each sender's last CLIENT_ID_WINDOW client_ids
// per room are kept here, loaded from the database the first time a sender writes to a room after
// a start or after being evicted. The rule, the same on PostgreSQL (docs/api.md): a retry is
// recognized while its sender has stored fewer than CLIENT_ID_WINDOW other messages with a
// client_id in that room since. Evicting a pair costs a reload, never a forgotten retry; at most
// REMEMBERED client_ids are kept in all (~25 MB), least recently used pairs go first.
const REMEMBERED = 200_000;

type Loader = (roomId: number, userId: number, n: number) => { id: number; client_id: string }[];

function createRecentClientIds(load: Loader) {
  const pairs = new Map<string, Map<string, number>>(); // least recently used first
  let remembered = 0;
  function pair(roomId: number, userId: number) {
    const key = `${roomId}:${userId}`;
    let ids = pairs.get(key);
    if (ids) pairs.delete(key);
    else {
      ids = new Map(load(roomId, userId, CLIENT_ID_WINDOW).map((r) => [r.client_id, r.id]));
      remembered += ids.size;
      evict();
    }
    pairs.set(key, ids);
    return ids;
  }
  function evict() {
    for (const [key, ids] of pairs) {
      if (remembered <= REMEMBERED) return;
      pairs.delete(key);
      remembered -= ids.size;
    }
  }
  return {
    find: (roomId: number, userId: number, clientId: string) => pair(roomId, userId).get(clientId),
    add(roomId: number, userId: number, clientId: string, id: number) {
      const ids = pair(roomId, userId);
      ids.set(clientId, id);
      if (ids.size > CLIENT_ID_WINDOW) ids.delete(ids.keys().next().value!);
      else if (++remembered > REMEMBERED) evict();
    },
  };
}

// What a batch stores, by "room:user:client_id": found by later rows of the same batch, and made
// "recent" only once the batch's commit succeeded.
type Staged = Map<string, [roomId: number, userId: number, clientId: string, id: number]>;
const stagedKey = (roomId: number, userId: number, clientId: string) => `${roomId}:${userId}:${clientId}`;

function open(path: string, synchronous: "full" | "normal") {
  db = new Database(path, { strict: true });
  db.run(`PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA secure_delete = ON"); // as on the main connection: deleted text is overwritten
  db.run("PRAGMA busy_timeout = 5000");
  // A larger page cache keeps the hot index pages (rooms, senders) in memory between commits.
  db.run("PRAGMA cache_size = -16384");
  // This connection checkpoints for both (the main one has autocheckpoint off): after a commit
  // once the WAL passes 4000 pages (16 MiB; fewer, larger checkpoints write a hot page once),
  // and every second for what the main connection wrote.
  db.run("PRAGMA wal_autocheckpoint = 4000");
  checkpoints = setInterval(() => {
    try {
      if (truncateOwed) truncateWal();
      else db.run("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // busy or failing disk: the next commit or tick tries again; it must not kill the writer
    }
  }, 1000);
  writeBatch = createBatchWriter(db);
  changeRoom = createRoomChanges(db);
  changeMessage = createMessageChanges(db);
  retention = createRetention(db);
}

// After a delete: the WAL, which holds the pages with the erased text (every version of it), is copied
// into the database file (where secure_delete zeroed it) and cut to nothing. Readers on the main
// connection may hold it for a moment: then the checkpoint timer retries (truncateOwed).
function truncateWal() {
  const r = db.query<{ busy: number }, []>("PRAGMA wal_checkpoint(TRUNCATE)").get();
  truncateOwed = r?.busy !== 0;
}

// A room a batch wrote to: its newest message and seq, how many it got, and how many from each sender.
type Touched = { id: number; now: number; n: number; seq: number; senders: Map<number, number> };

function createBatchWriter(db: Database): (rows: Row[]) => Written {
  const insertMessage = db.query<never, [number, number, string, string | null, number, number]>(
    "INSERT INTO messages (room_id, user_id, text, client_id, created_at, seq) VALUES (?, ?, ?, ?, ?, ?)",
  );
  // The search index (schema.sql: written here, not by a trigger, so FTS5 keeps a batch's words in memory
  // and writes them once, at the commit).
  const indexMessage = db.query<never, [number, string]>("INSERT INTO messages_search (rowid, text) VALUES (?, ?)");
  // The room's order (schema.sql): its seq is read once per batch, inside the transaction, and each new
  // message takes the next one; no index is written for it.
  const roomSeq = db.query<{ seq: number }, [number]>("SELECT seq FROM rooms WHERE id = ?");
  const messageById = db.query<MessageRow, [number]>(`SELECT ${MESSAGE} FROM messages WHERE id = ?`);
  const recentClientIds = db.query<{ id: number; client_id: string }, [number, number, number]>(
    `SELECT id, client_id FROM messages WHERE room_id = ? AND user_id = ? AND client_id IS NOT NULL
     ORDER BY id DESC LIMIT ?`,
  );
  const touchRoom = db.query<never, [number, number, number, number, number]>(
    "UPDATE rooms SET last_message_id = ?, last_activity = ?, message_count = message_count + ?, seq = ? WHERE id = ?",
  );
  // The unread counters (schema.sql): the room's and each sender's, once per batch, never per member.
  const countSent = db.query<never, [number, number, number]>(
    "UPDATE room_members SET sent = sent + ? WHERE room_id = ? AND user_id = ?",
  );
  // A sender removed from the room while the message waited in the queue: refused (null), checked once
  // per (room, sender) per batch, inside the transaction that would store it.
  const isMember = db.query<{ one: number }, [number, number]>(
    "SELECT 1 AS one FROM room_members WHERE room_id = ? AND user_id = ?",
  );
  const recent = createRecentClientIds((roomId, userId, n) => recentClientIds.all(roomId, userId, n).reverse());
  const links = prepareRepliesAndMentions(db);
  const fileLinks = prepareFileLinks(db);
  const NONE: number[] = [];
  // Why a row is not stored: its sender was removed (null), it is a retry (the earlier message with its
  // client_id), its reply_to is no live message of the room, or its files are not the sender's unattached
  // uploads to it; undefined: it is new. members: "room:user" -> still a member, checked once per pair per
  // batch. files: the row's files when it is new.
  function notNew(
    row: Row,
    members: Map<string, boolean>,
    staged: Staged,
    taken: Set<string>,
    files: { refs: Omit<FileRef, "epoch">[] | null },
  ): Message | NotStored | undefined {
    const [roomId, userId, , clientId, , replyTo, ids] = row;
    const pair = `${roomId}:${userId}`;
    let member = members.get(pair);
    if (member === undefined) members.set(pair, (member = isMember.get(roomId, userId) !== null));
    if (!member) return null;
    if (clientId !== null) {
      const earlier = staged.get(stagedKey(roomId, userId, clientId))?.[3] ?? recent.find(roomId, userId, clientId);
      // Gone when retention deleted it since: then the message is new.
      const row = earlier === undefined ? null : messageById.get(earlier);
      if (row) return toMessage(row);
    }
    if (replyTo !== 0 && links.replyRefused(roomId, replyTo)) return "message_not_found";
    files.refs = ids.length === 0 ? null : fileLinks.check(roomId, userId, ids, taken);
    if (ids.length > 0 && files.refs === null) return "invalid_files";
  }
  // A number is the new message's id; a Message is the earlier one with the same client_id.
  // run() + lastInsertRowid costs about 40% less CPU per row than RETURNING id.
  const write = db.transaction((rows: Row[], staged: Staged): Written => {
    const results: (number | Message | NotStored)[] = [];
    const seqs: number[] = [];
    const mentions: [number, number[]][] = [];
    const files: [number, FileRef[]][] = [];
    const taken = new Set<string>(); // files attached by this batch
    const rowFiles: { refs: Omit<FileRef, "epoch">[] | null } = { refs: null };
    const touched = new Map<number, Touched>();
    const members = new Map<string, boolean>(); // "room:user" -> still a member
    const mentionsIn = links.mentionsFor();
    for (const row of rows) {
      const [roomId, userId, text, clientId, now, replyTo] = row;
      const refused = notNew(row, members, staged, taken, rowFiles);
      if (refused !== undefined) {
        results.push(refused);
        seqs.push(0);
        continue;
      }
      let room = touched.get(roomId);
      if (!room)
        touched.set(roomId, (room = { id: 0, now, n: 0, seq: roomSeq.get(roomId)?.seq ?? 0, senders: new Map() }));
      const seq = ++room.seq;
      // A text without "@" pays one includes() for mentions.
      const mentioned = text.includes("@") ? mentionsIn(roomId, text) : NONE;
      const id =
        replyTo === 0 && mentioned.length === 0
          ? Number(insertMessage.run(roomId, userId, text, clientId, now, seq).lastInsertRowid)
          : links.insert({ roomId, userId, text, clientId, now }, seq, replyTo, mentioned);
      if (mentioned.length) mentions.push([results.length, mentioned]);
      if (rowFiles.refs) files.push([results.length, fileLinks.attach(id, roomId, rowFiles.refs, taken)]);
      indexMessage.run(id, text);
      if (clientId !== null) staged.set(stagedKey(roomId, userId, clientId), [roomId, userId, clientId, id]);
      room.id = id;
      room.now = now;
      room.n++;
      room.senders.set(userId, (room.senders.get(userId) ?? 0) + 1);
      results.push(id);
      seqs.push(seq);
    }
    for (const [roomId, { id, now, n, seq, senders }] of touched) {
      touchRoom.run(id, now, n, seq, roomId);
      for (const [userId, sent] of senders) countSent.run(sent, roomId, userId);
    }
    return { results, seqs, mentions, files };
  });
  // What a batch stores becomes "recent" only once its commit succeeded.
  return (rows) => {
    const staged: Staged = new Map();
    const out = write.immediate(rows, staged);
    for (const entry of staged.values()) recent.add(...entry);
    return out;
  };
}

// A room change answers a REST request: like everything the serving thread does, it waits at most
// CHANGE_BUSY_MS for another process's lock, then fails as busy (503 unavailable, docs/api.md).
const CHANGE_BUSY_MS = 100;
function change(op: string, args: unknown[]) {
  db.run(`PRAGMA busy_timeout = ${CHANGE_BUSY_MS}`);
  try {
    if (retention.has(op)) return expire(args);
    if (!changeMessage.has(op)) return self.postMessage({ kind: "changed", ...changeRoom(op, args) } satisfies Reply);
    const { erased, ...reply } = changeMessage.run(op, args);
    if (erased) {
      try {
        truncateWal();
      } catch {
        truncateOwed = true;
      }
    }
    self.postMessage({ kind: "changed", ...reply } satisfies Reply);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const busy = typeof code === "string" && code.startsWith("SQLITE_BUSY");
    self.postMessage({ kind: "failed", error: String(err), busy } satisfies Reply);
  } finally {
    db.run("PRAGMA busy_timeout = 5000");
  }
}

// A retention round (sqlite/retention.ts). The WAL that holds the deleted texts is truncated by the checkpoint
// timer within a second, not after each round (a sweep of many rounds pays for one truncation a second, and
// message batches waiting behind a round do not wait for it), and by the sweep's last round, which finds no
// room, before it answers: a sweep that ends has erased what it deleted.
function expire(args: unknown[]) {
  const result = retention.run(args[0] as Parameters<Retention["run"]>[0]);
  if (typeof result === "object" && result.roomId !== null) truncateOwed = true;
  else if (truncateOwed) {
    try {
      truncateWal();
    } catch {
      // busy: the checkpoint timer goes on trying
    }
  }
  self.postMessage({ kind: "changed", result, eventId: 0 } satisfies Reply);
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  if (req.kind === "open") return open(req.path, req.synchronous);
  if (req.kind === "close") {
    clearInterval(checkpoints);
    db.close();
    return self.postMessage({ kind: "closed" } satisfies Reply);
  }
  if (req.kind === "change") return change(req.op, req.args);
  try {
    self.postMessage({ kind: "written", ...writeBatch(unpack(req)) } satisfies Reply);
  } catch (err) {
    self.postMessage({ kind: "failed", error: String(err) } satisfies Reply);
  }
};
