// Retention on PostgreSQL (the rules: ../retention.ts). A round is one transaction under a transaction-level
// advisory lock taken without waiting: while one instance's round runs, another's answers "busy" and that
// instance leaves the sweep to it, so two instances never cut the same rows nor count them twice. The round
// holds the room's row (FOR UPDATE) as message batches and changes do, so the counters move in step with
// them. The deleted rows' search vectors go with them; their old versions are left to vacuum.
import type { SQL } from "bun";
import { boundCut, expiredPrefix, mentionRows, uncounts } from "../retention.ts";
import type { Expired, HistoryStart, Store } from "../store.ts";
import { message, type Row } from "./rows.ts";

const RETENTION_LOCK = 0x72657465; // "rete"
const NONE: Expired = { roomId: null, messages: 0, removedFiles: [], roomDone: true };

export function createRetention(sql: SQL): Pick<Store, "expireMessages" | "historyStarts"> {
  return {
    expireMessages: ({ serverSeconds, now, afterRoom, limit }) =>
      sql.begin(async (tx): Promise<Expired> => {
        const [{ locked }] = await tx`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK}) AS locked`;
        if (!locked) return "busy";
        const [room] = await tx`SELECT r.id, coalesce(r.retention, ${serverSeconds}) AS retention FROM rooms r
          WHERE r.id > ${afterRoom} AND coalesce(r.retention, ${serverSeconds}) > 0
            AND (SELECT m.created_at FROM messages m WHERE m.room_id = r.id ORDER BY m.id LIMIT 1)
              < ${now} - coalesce(r.retention, ${serverSeconds}) * 1000
          ORDER BY r.id LIMIT 1`;
        if (!room) return NONE;
        const roomId = Number(room.id);
        await tx`SELECT id FROM rooms WHERE id = ${roomId} FOR UPDATE`;
        const oldest = await tx`SELECT * FROM messages WHERE room_id = ${roomId} ORDER BY id LIMIT ${limit}`;
        const expired = expiredPrefix(oldest.map(message), now - Number(room.retention) * 1000, limit);
        if (expired.messages.length === 0) return { roomId, messages: 0, removedFiles: [], roomDone: true };
        const seqs = await tx`SELECT seq FROM room_events WHERE room_id = ${roomId}
          AND seq < ${expired.messages.at(-1)!.seq} ORDER BY seq LIMIT ${limit}`;
        const cut = boundCut(
          expired,
          seqs.map((e: Row) => Number(e.seq)),
          limit,
        );
        await tx`DELETE FROM room_events WHERE room_id = ${roomId} AND seq <= ${cut.eventsUpTo}`;
        if (cut.messages.length === 0) return { roomId, messages: 0, removedFiles: [], roomDone: false };
        const live = cut.messages.filter((m) => !m.deleted);
        const withFiles = live.filter((m) => m.files).map((m) => m.id);
        const files =
          withFiles.length === 0
            ? []
            : await tx`DELETE FROM files WHERE message_id = ANY(${withFiles}::bigint[]) RETURNING storage_key`;
        await uncount(tx, roomId, live, cut.messages.at(-1)!.id);
        return {
          roomId,
          messages: live.length,
          removedFiles: files.map((f: Row) => f.storage_key as string),
          roomDone: cut.roomDone,
        };
      }),
    async historyStarts(roomIds) {
      const rows = await sql`SELECT r.id, r.seq, m.id AS m_id, m.seq AS m_seq,
          (SELECT e.seq FROM room_events e WHERE e.room_id = r.id ORDER BY e.seq LIMIT 1) AS e_seq
        FROM rooms r LEFT JOIN LATERAL (SELECT id, seq FROM messages WHERE room_id = r.id ORDER BY id LIMIT 1) m ON true
        WHERE r.id = ANY(${roomIds}::bigint[])`;
      const out = new Map<number, HistoryStart>();
      for (const r of rows) {
        const seq = Math.min(
          r.e_seq === null ? Infinity : Number(r.e_seq),
          r.m_seq === null ? Infinity : Number(r.m_seq),
        );
        out.set(Number(r.id), {
          seq: seq === Infinity ? Number(r.seq) + 1 : seq,
          messageId: r.m_id === null ? null : Number(r.m_id),
        });
      }
      return out;
    },
  };
}

// The cut messages' mentions rows, the counters (schema.sql) without them, the rows themselves, and the room's
// newest live message when the cut took it.
async function uncount(tx: SQL, roomId: number, live: ReturnType<typeof message>[], last: number) {
  const mentions = mentionRows(live);
  if (mentions.length > 0) {
    await tx`DELETE FROM mentions x USING unnest(${mentions.map((r) => r[0])}::bigint[],
        ${mentions.map((r) => r[1])}::bigint[]) AS c(user_id, message_id)
      WHERE x.user_id = c.user_id AND x.room_id = ${roomId} AND x.message_id = c.message_id`;
  }
  const members = await tx`SELECT user_id, last_read_id FROM room_members WHERE room_id = ${roomId}`;
  const changes = uncounts(
    live,
    members.map((r: Row) => ({ userId: Number(r.user_id), lastReadId: Number(r.last_read_id) })),
  );
  if (changes.length > 0) {
    await tx`UPDATE room_members m SET sent = m.sent - c.sent, read_count = m.read_count - c.read,
        read_sent = m.read_sent - c.read_sent
      FROM unnest(${changes.map((c) => c.userId)}::bigint[], ${changes.map((c) => c.sent)}::bigint[],
        ${changes.map((c) => c.read)}::bigint[], ${changes.map((c) => c.readSent)}::bigint[])
        AS c(user_id, sent, read, read_sent)
      WHERE m.room_id = ${roomId} AND m.user_id = c.user_id`;
  }
  await tx`DELETE FROM messages WHERE room_id = ${roomId} AND id <= ${last}`;
  await tx`UPDATE rooms SET message_count = message_count - ${live.length},
      last_message_id = CASE WHEN last_message_id <= ${last}
        THEN (SELECT max(id) FROM messages WHERE room_id = ${roomId} AND deleted_at IS NULL) ELSE last_message_id END
    WHERE id = ${roomId}`;
}
