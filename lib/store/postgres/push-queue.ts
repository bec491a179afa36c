// The Web Push queue on PostgreSQL, as on SQLite (sqlite/push-queue.ts). Claims skip rows another instance
// holds locked, so two instances draining at once claim disjoint rows.
import type { SQL } from "bun";
import type { PushJob, PushQueueStore } from "../store.ts";
import { fileEpoch, message, type Row } from "./rows.ts";

const job = (r: Row): PushJob => ({
  endpoint: r.endpoint,
  roomId: Number(r.room_id),
  messageId: Number(r.message_id),
  attempts: Number(r.attempts),
  claimedUntil: Number(r.claimed_until),
});

export function createPushQueue(sql: SQL): PushQueueStore {
  // A member's level in effect: NULL is the room kind's default (store.ts defaultNotify).
  const level = sql.unsafe("coalesce(m.notify, CASE r.kind WHEN 'direct' THEN 'all' ELSE 'mentions' END)");
  return {
    // One statement: one transaction per flush. Rows are written in key order, so two instances flushing
    // the same rooms at once wait for each other rather than deadlock.
    async enqueuePushes(news, online, dueAt) {
      const mentioned = news.flatMap((n) => n.mentions.map(([u, m]) => [n.roomId, u, m] as const));
      await sql`WITH news AS (SELECT * FROM unnest(${news.map((n) => n.roomId)}::bigint[],
           ${news.map((n) => n.messageId)}::bigint[], ${news.map((n) => n.senderId)}::bigint[])
           AS n(room_id, message_id, sender_id)),
         mentioned AS (SELECT * FROM unnest(${mentioned.map((x) => x[0])}::bigint[],
           ${mentioned.map((x) => x[1])}::bigint[], ${mentioned.map((x) => x[2])}::bigint[])
           AS x(room_id, user_id, message_id)),
         targets AS (
           SELECT m.room_id, m.user_id, n.message_id FROM news n JOIN rooms r ON r.id = n.room_id
             JOIN room_members m ON m.room_id = n.room_id
             WHERE m.user_id <> n.sender_id AND m.last_read_id < n.message_id AND ${level} = 'all'
           UNION ALL
           SELECT m.room_id, m.user_id, x.message_id FROM mentioned x JOIN rooms r ON r.id = x.room_id
             JOIN room_members m ON m.room_id = x.room_id AND m.user_id = x.user_id
             WHERE m.last_read_id < x.message_id AND ${level} <> 'none')
       INSERT INTO push_queue (endpoint, room_id, message_id, due_at)
       SELECT s.endpoint, t.room_id, max(t.message_id), ${dueAt} FROM targets t
         JOIN push_subscriptions s ON s.user_id = t.user_id
         WHERE NOT (t.user_id = ANY(${online}::bigint[]))
         GROUP BY s.endpoint, t.room_id ORDER BY s.endpoint, t.room_id
       ON CONFLICT (endpoint, room_id)
         DO UPDATE SET message_id = excluded.message_id,
           due_at = CASE WHEN push_queue.message_id <= push_queue.sent_id
             THEN greatest(push_queue.due_at, excluded.due_at) ELSE push_queue.due_at END
         WHERE excluded.message_id > push_queue.message_id`;
    },
    // Rows due with no news (message_id <= sent_id: the gap after a push passed, nothing newer came) go in the
    // same statement; the two parts take disjoint rows. Both skip locked rows, so claims never wait on each other
    // or on an enqueue (a row that took news meanwhile is claimed next time, a stale one purged next time).
    async claimPushes(now, until, limit) {
      const rows = await sql`WITH stale AS (DELETE FROM push_queue
          WHERE (endpoint, room_id) IN (SELECT endpoint, room_id FROM push_queue
            WHERE due_at <= ${now} AND claimed_until <= ${now} AND message_id <= sent_id FOR UPDATE SKIP LOCKED))
        UPDATE push_queue SET claimed_until = ${until}
        WHERE (endpoint, room_id) IN (SELECT endpoint, room_id FROM push_queue
          WHERE due_at <= ${now} AND claimed_until <= ${now} AND message_id > sent_id
          ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING endpoint, room_id, message_id, attempts, claimed_until`;
      return rows.map(job);
    },
    async findPushTarget(j) {
      const [t] = await sql`SELECT s.user_id, s.p256dh, s.auth, ${level} AS notify, m.last_read_id,
          (r.message_count - m.read_count) - (m.sent - m.read_sent) AS unread, r.kind, r.name
        FROM push_subscriptions s JOIN room_members m ON m.user_id = s.user_id AND m.room_id = ${j.roomId}
          JOIN rooms r ON r.id = m.room_id
        WHERE s.endpoint = ${j.endpoint}`;
      if (!t) return null;
      const [row] = await sql`SELECT messages.*, ${fileEpoch(sql)}, u.login AS sender_login
        FROM messages JOIN users u ON u.id = messages.user_id WHERE messages.id = ${j.messageId}
          AND messages.room_id = ${j.roomId}`;
      if (!row) return null;
      return {
        userId: Number(t.user_id),
        p256dh: t.p256dh,
        auth: t.auth,
        notify: t.notify,
        lastReadId: Number(t.last_read_id),
        unread: Number(t.unread),
        roomKind: t.kind,
        roomName: t.name,
        message: message(row),
        senderLogin: row.sender_login,
      };
    },
    // Each changes the row only while the job's claim holds it (claimed_until names the claim).
    async sentPush(j, dueAt) {
      await sql`UPDATE push_queue SET sent_id = ${j.messageId}, due_at = ${dueAt}, claimed_until = 0, attempts = 0
        WHERE endpoint = ${j.endpoint} AND room_id = ${j.roomId} AND claimed_until = ${j.claimedUntil}`;
    },
    // The row goes if it holds the message dropped, else (a newer one came) it is released. Two statements: in
    // one, an enqueue committing between the two parts' snapshot and locks could leave the row neither deleted
    // nor released (claimed until its claim lapsed).
    async dropPush(j) {
      const done = await sql`DELETE FROM push_queue WHERE endpoint = ${j.endpoint} AND room_id = ${j.roomId}
        AND claimed_until = ${j.claimedUntil} AND message_id = ${j.messageId}`;
      if (done.count > 0) return;
      await sql`UPDATE push_queue SET claimed_until = 0, attempts = 0
        WHERE endpoint = ${j.endpoint} AND room_id = ${j.roomId} AND claimed_until = ${j.claimedUntil}`;
    },
    async retryPush(j, dueAt, attempts) {
      await sql`UPDATE push_queue SET claimed_until = 0, attempts = ${attempts}, due_at = ${dueAt}
        WHERE endpoint = ${j.endpoint} AND room_id = ${j.roomId} AND claimed_until = ${j.claimedUntil}`;
    },
    async deletePushEndpoint(endpoint) {
      await sql`DELETE FROM push_subscriptions WHERE endpoint = ${endpoint}`;
    },
    async countPushQueue() {
      const [r] = await sql`SELECT count(*) AS n FROM push_queue WHERE message_id > sent_id`;
      return Number(r?.n ?? 0);
    },
  };
}
