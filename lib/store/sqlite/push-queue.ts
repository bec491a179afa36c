// The Web Push queue on SQLite (push_queue, version 11), on the serving connection like read markers: each
// statement is one short transaction beside the message writer's. Its commits are not fsynced (synchronous NORMAL
// for them, consistent in WAL mode): a push is best-effort, and an fsync per push on the thread that serves
// sockets showed in the chat's p99 (docs/performance.md, P1). The message writer's next commit syncs them.
import type { Database } from "bun:sqlite";
import type { PushJob, PushQueueStore, PushTarget } from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";

// A member's level in effect: NULL is the room kind's default (store.ts defaultNotify).
const LEVEL = "coalesce(m.notify, CASE r.kind WHEN 'direct' THEN 'all' ELSE 'mentions' END)";

type TargetRow = Omit<PushTarget, "message" | "senderLogin">;

export function createPushQueue(db: Database, synchronous: "full" | "normal"): PushQueueStore {
  const restore = `PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`;
  const light = <T>(write: () => T): T => {
    db.run("PRAGMA synchronous = NORMAL");
    try {
      return write();
    } finally {
      db.run(restore);
    }
  };
  // ?1 news [[room, message, sender]], ?2 mentions [[room, user, message]], ?3 online [user], ?4 due.
  const enqueue = db.query<never, [string, string, string, number]>(
    `WITH news AS (SELECT value ->> 0 AS room_id, value ->> 1 AS message_id, value ->> 2 AS sender_id
         FROM json_each(?1)),
       mentioned AS (SELECT value ->> 0 AS room_id, value ->> 1 AS user_id, value ->> 2 AS message_id
         FROM json_each(?2)),
       targets AS (
         SELECT m.room_id, m.user_id, n.message_id FROM news n JOIN rooms r ON r.id = n.room_id
           JOIN room_members m ON m.room_id = n.room_id
           WHERE m.user_id <> n.sender_id AND m.last_read_id < n.message_id AND ${LEVEL} = 'all'
         UNION ALL
         SELECT m.room_id, m.user_id, x.message_id FROM mentioned x JOIN rooms r ON r.id = x.room_id
           JOIN room_members m ON m.room_id = x.room_id AND m.user_id = x.user_id
           WHERE m.last_read_id < x.message_id AND ${LEVEL} <> 'none')
     INSERT INTO push_queue (endpoint, room_id, message_id, due_at)
     SELECT s.endpoint, t.room_id, max(t.message_id), ?4 FROM targets t JOIN push_subscriptions s ON s.user_id = t.user_id
       WHERE t.user_id NOT IN (SELECT value FROM json_each(?3))
       GROUP BY s.endpoint, t.room_id
     ON CONFLICT (endpoint, room_id) DO UPDATE SET message_id = excluded.message_id,
       due_at = CASE WHEN message_id <= sent_id THEN max(due_at, excluded.due_at) ELSE due_at END
       WHERE excluded.message_id > message_id`,
  );
  // Read first: an UPDATE takes the write lock even when it matches nothing, and the serving thread would wait
  // for the message writer's commit to find that out. News: a message past the one last sent.
  const DUE = "due_at <= ?1 AND claimed_until <= ?1";
  const anyDue = db.query<{ one: number }, [number]>(
    `SELECT 1 AS one FROM push_queue WHERE ${DUE} AND message_id > sent_id LIMIT 1`,
  );
  const anyStale = db.query<{ one: number }, [number]>(
    `SELECT 1 AS one FROM push_queue WHERE ${DUE} AND message_id <= sent_id LIMIT 1`,
  );
  const purge = db.query<never, [number]>(`DELETE FROM push_queue WHERE ${DUE} AND message_id <= sent_id`);
  const claim = db.query<PushJob, [number, number, number]>(
    `UPDATE push_queue SET claimed_until = ?2
     WHERE (endpoint, room_id) IN (SELECT endpoint, room_id FROM push_queue
       WHERE ${DUE} AND message_id > sent_id ORDER BY due_at LIMIT ?3)
     RETURNING endpoint, room_id AS roomId, message_id AS messageId, attempts, claimed_until AS claimedUntil`,
  );
  const target = db.query<TargetRow, [string, number]>(
    `SELECT s.user_id AS userId, s.p256dh, s.auth, ${LEVEL} AS notify, m.last_read_id AS lastReadId,
       (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread, r.kind AS roomKind, r.name AS roomName
     FROM push_subscriptions s JOIN room_members m ON m.user_id = s.user_id AND m.room_id = ?2
       JOIN rooms r ON r.id = m.room_id
     WHERE s.endpoint = ?1`,
  );
  const message = db.query<MessageRow & { login: string }, [number, number]>(
    `SELECT ${MESSAGE}, (SELECT login FROM users WHERE users.id = messages.user_id) AS login
     FROM messages WHERE id = ? AND room_id = ?`,
  );
  // ?1 endpoint, ?2 room, ?3 the job's claim: each changes the row only while that claim holds it.
  const mine = "endpoint = ?1 AND room_id = ?2 AND claimed_until = ?3";
  const sent = db.query<never, [string, number, number, number, number]>(
    `UPDATE push_queue SET sent_id = ?4, due_at = ?5, claimed_until = 0, attempts = 0 WHERE ${mine}`,
  );
  const done = db.query<never, [string, number, number, number]>(
    `DELETE FROM push_queue WHERE ${mine} AND message_id = ?4`,
  );
  const release = db.query<never, [string, number, number]>(
    `UPDATE push_queue SET claimed_until = 0, attempts = 0 WHERE ${mine}`,
  );
  const retry = db.query<never, [string, number, number, number, number]>(
    `UPDATE push_queue SET claimed_until = 0, due_at = ?4, attempts = ?5 WHERE ${mine}`,
  );
  const gone = db.query<never, [string]>("DELETE FROM push_subscriptions WHERE endpoint = ?");
  const count = db.query<{ n: number }, []>("SELECT count(*) AS n FROM push_queue WHERE message_id > sent_id");
  const drop = db.transaction((j: PushJob) => {
    if (done.run(j.endpoint, j.roomId, j.claimedUntil, j.messageId).changes === 0) {
      release.run(j.endpoint, j.roomId, j.claimedUntil);
    }
  });

  return {
    async enqueuePushes(news, online, dueAt) {
      const rooms = JSON.stringify(news.map((n) => [n.roomId, n.messageId, n.senderId]));
      const mentions = JSON.stringify(news.flatMap((n) => n.mentions.map(([u, m]) => [n.roomId, u, m])));
      light(() => enqueue.run(rooms, mentions, JSON.stringify(online), dueAt));
    },
    // Rows due with no news (the gap after a push passed, nothing newer came) go here, so the table holds at
    // most the rows with news and those still in their gap.
    async claimPushes(now, until, limit) {
      if (anyStale.get(now)) light(() => purge.run(now));
      return anyDue.get(now) ? light(() => claim.all(now, until, limit)) : [];
    },
    async findPushTarget(job) {
      const t = target.get(job.endpoint, job.roomId);
      const row = t && message.get(job.messageId, job.roomId);
      if (!t || !row) return null;
      const { login, ...m } = row;
      return { ...t, message: toMessage(m), senderLogin: login };
    },
    async sentPush(j, dueAt) {
      light(() => sent.run(j.endpoint, j.roomId, j.claimedUntil, j.messageId, dueAt));
    },
    async dropPush(j) {
      light(() => drop.immediate(j));
    },
    async retryPush(j, dueAt, attempts) {
      light(() => retry.run(j.endpoint, j.roomId, j.claimedUntil, dueAt, attempts));
    },
    async deletePushEndpoint(endpoint) {
      light(() => gone.run(endpoint));
    },
    async countPushQueue() {
      return count.get()?.n ?? 0;
    },
  };
}
