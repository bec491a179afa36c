// The Web Push queue's writes on SQLite (push_queue, version 11): like room changes they run on the message
// writer's thread and connection, between batches. On the serving connection each was a write transaction beside
// the writer's: it waited for the writer's commit on the thread that serves sockets, and the writer waited for it
// (SQLite's busy handler sleeps a millisecond or more each time), which showed in the chat's p99 (P1,
// docs/performance.md). Here none waits for a lock. Their commits are not fsynced (synchronous NORMAL for them,
// consistent in WAL mode): a push is best-effort, and the writer's next message commit syncs them. The reads
// (sqlite/push-queue.ts) stay on the serving connection.
import type { Database } from "bun:sqlite";
import type { PushJob } from "../store.ts";
import { LEVEL } from "./push-queue.ts";

type JobRow = { endpoint: string; roomId: number; messageId: number; attempts: number };

export function createPushQueueChanges(db: Database, synchronous: "full" | "normal") {
  const q = prepare(db);
  const settle = db.transaction((job: PushJob, dueAt: number) => {
    if (q.done.run(job.endpoint, job.roomId, job.messageId).changes === 0)
      q.release.run(dueAt, job.endpoint, job.roomId);
  });
  const changes = {
    // rooms: [[room, message, sender]], mentions: [[room, user, message]], online: [user], as JSON.
    enqueuePushes(rooms: string, mentions: string, online: string, dueAt: number): void {
      q.enqueue.run(rooms, mentions, online, dueAt);
    },
    claimPushes(now: number, until: number, limit: number): JobRow[] {
      return q.claim.all(now, until, limit);
    },
    settlePush(job: PushJob, dueAt: number): void {
      settle.immediate(job, dueAt);
    },
    retryPush(job: PushJob, dueAt: number, attempts: number): void {
      q.retry.run(dueAt, attempts, job.endpoint, job.roomId);
    },
    deletePushEndpoint(endpoint: string): void {
      q.gone.run(endpoint);
    },
  };
  const restore = `PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`;
  return {
    has: (op: string) => Object.hasOwn(changes, op),
    run(op: string, args: unknown[]): unknown {
      db.run("PRAGMA synchronous = NORMAL");
      try {
        return (changes[op as keyof typeof changes] as (...a: unknown[]) => unknown)(...args);
      } finally {
        db.run(restore);
      }
    },
  };
}
export type PushQueueChanges = ReturnType<typeof createPushQueueChanges>;

function prepare(db: Database) {
  return {
    // ?1 news, ?2 mentions, ?3 online, ?4 due (see enqueuePushes above). One statement: one transaction.
    enqueue: db.query<never, [string, string, string, number]>(
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
       ON CONFLICT (endpoint, room_id) DO UPDATE SET message_id = max(message_id, excluded.message_id)`,
    ),
    claim: db.query<JobRow, [number, number, number]>(
      `UPDATE push_queue SET claimed_until = ?2
       WHERE (endpoint, room_id) IN (SELECT endpoint, room_id FROM push_queue
         WHERE due_at <= ?1 AND claimed_until <= ?1 ORDER BY due_at LIMIT ?3)
       RETURNING endpoint, room_id AS roomId, message_id AS messageId, attempts`,
    ),
    done: db.query<never, [string, number, number]>(
      "DELETE FROM push_queue WHERE endpoint = ? AND room_id = ? AND message_id = ?",
    ),
    release: db.query<never, [number, string, number]>(
      "UPDATE push_queue SET claimed_until = 0, attempts = 0, due_at = max(due_at, ?) WHERE endpoint = ? AND room_id = ?",
    ),
    retry: db.query<never, [number, number, string, number]>(
      "UPDATE push_queue SET claimed_until = 0, due_at = ?, attempts = ? WHERE endpoint = ? AND room_id = ?",
    ),
    gone: db.query<never, [string]>("DELETE FROM push_subscriptions WHERE endpoint = ?"),
  };
}
