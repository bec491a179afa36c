// The Web Push queue on SQLite (push_queue, version 11). Its writes run on the message writer's thread
// (push-queue-changes.ts: no write transaction on the serving connection, so neither waits for the other's lock);
// the reads stay here: whether anything is due before a claim is asked for, and a claimed push's target.
import type { Database } from "bun:sqlite";
import type { PushJob, PushQueueStore, PushTarget } from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";

// A member's level in effect: NULL is the room kind's default (store.ts defaultNotify).
export const LEVEL = "coalesce(m.notify, CASE r.kind WHEN 'direct' THEN 'all' ELSE 'mentions' END)";

type TargetRow = Omit<PushTarget, "message" | "senderLogin">;
type Change = (op: string, args: unknown[]) => Promise<unknown>;

export function createPushQueue(db: Database, change: Change): PushQueueStore {
  // Asked first: a claim that finds nothing costs no trip to the writer.
  const anyDue = db.query<{ one: number }, [number]>(
    "SELECT 1 AS one FROM push_queue WHERE due_at <= ?1 AND claimed_until <= ?1 LIMIT 1",
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
  const count = db.query<{ n: number }, []>("SELECT count(*) AS n FROM push_queue");
  const job = ({ endpoint, roomId, messageId }: PushJob) => ({ endpoint, roomId, messageId });

  return {
    async enqueuePushes(news, online, dueAt) {
      const rooms = JSON.stringify(news.map((n) => [n.roomId, n.messageId, n.senderId]));
      const mentions = JSON.stringify(news.flatMap((n) => n.mentions.map(([u, m]) => [n.roomId, u, m])));
      await change("enqueuePushes", [rooms, mentions, JSON.stringify(online), dueAt]);
    },
    async claimPushes(now, until, limit) {
      return anyDue.get(now) ? ((await change("claimPushes", [now, until, limit])) as PushJob[]) : [];
    },
    async findPushTarget(j) {
      const t = target.get(j.endpoint, j.roomId);
      const row = t && message.get(j.messageId, j.roomId);
      if (!t || !row) return null;
      const { login, ...m } = row;
      return { ...t, message: toMessage(m), senderLogin: login };
    },
    async settlePush(j, dueAt) {
      await change("settlePush", [job(j), dueAt]);
    },
    async retryPush(j, dueAt, attempts) {
      await change("retryPush", [job(j), dueAt, attempts]);
    },
    async deletePushEndpoint(endpoint) {
      await change("deletePushEndpoint", [endpoint]);
    },
    async countPushQueue() {
      return count.get()?.n ?? 0;
    },
  };
}
