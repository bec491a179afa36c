// The message writer, on its own thread with its own connection: a commit's fsync never blocks
// the thread that serves sockets. It writes one batch at a time, in the order given, and
// answers only after the commit returned, so an ack always means "on disk" (with FULL).
import { Database } from "bun:sqlite";
import type { Message } from "./store.ts";
import type { Reply, Request, Row } from "./store-sqlite-writer.ts";

declare const self: Worker;

let db: Database;
let writeBatch: (rows: Row[]) => (number | Message)[];
let checkpoints: Timer | undefined;

function open(path: string, synchronous: "full" | "normal") {
  db = new Database(path, { strict: true });
  db.run(`PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA busy_timeout = 5000");
  // The client_id index takes random-order inserts: a larger page cache keeps more of it in memory.
  db.run("PRAGMA cache_size = -16384");
  // This connection checkpoints for both (the main one has autocheckpoint off): after a commit
  // once the WAL passes 4000 pages (16 MiB; fewer, larger checkpoints write a hot page once),
  // and every second for what the main connection wrote.
  db.run("PRAGMA wal_autocheckpoint = 4000");
  checkpoints = setInterval(() => {
    try {
      db.run("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // busy or failing disk: the next commit or tick tries again; it must not kill the writer
    }
  }, 1000);
  // No change means the unique client_id index already holds this one: then fetch the earlier message.
  // run() + lastInsertRowid costs about 40% less CPU per row than RETURNING id.
  const insertMessage = db.query<never, [number, number, string, string | null, number]>(
    "INSERT INTO messages (room_id, user_id, text, client_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
  const messageByClientId = db.query<Message, [number, number, string]>(
    "SELECT * FROM messages WHERE room_id = ? AND user_id = ? AND client_id = ?");
  const touchRoom = db.query<never, [number, number, number]>("UPDATE rooms SET last_message_id = ?, last_activity = ? WHERE id = ?");
  // A number is the new message's id; a Message is the earlier one with the same client_id.
  const write = db.transaction((rows: Row[]) => {
    const out: (number | Message)[] = [];
    const touched = new Map<number, [number, number]>();
    for (const [roomId, userId, text, clientId, now] of rows) {
      const { changes, lastInsertRowid } = insertMessage.run(roomId, userId, text, clientId, now);
      if (changes === 0) {
        out.push(messageByClientId.get(roomId, userId, clientId!)!);
        continue;
      }
      const id = Number(lastInsertRowid);
      touched.set(roomId, [id, now]);
      out.push(id);
    }
    for (const [roomId, [id, now]] of touched) touchRoom.run(id, now, roomId);
    return out;
  });
  writeBatch = (rows) => write.immediate(rows);
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  if (req.kind === "open") return open(req.path, req.synchronous);
  if (req.kind === "close") {
    clearInterval(checkpoints);
    db.close();
    return self.postMessage({ kind: "closed" } satisfies Reply);
  }
  try {
    self.postMessage({ kind: "written", results: writeBatch(req.rows) } satisfies Reply);
  } catch (err) {
    self.postMessage({ kind: "failed", error: String(err) } satisfies Reply);
  }
};
