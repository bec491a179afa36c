// Message search on SQLite: the FTS5 index messages_search (schema.sql, kept by triggers in the writer's
// transactions) walked newest first, or ranked by bm25, joined to messages for the caller's rooms.
import type { Database } from "bun:sqlite";
import { fts5Expression } from "../../search/query.ts";
import type { Found, MessageSearch, Store } from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";

type Row = MessageRow & { r: number };
type Params = Record<string, number | string>;

// The index drives (CROSS JOIN keeps it the outer loop): newest first it walks rowids down and stops at
// the limit; by rank it scores the matches in the caller's rooms.
function statement(order: MessageSearch["order"], oneRoom: boolean, cursor: boolean): string {
  const rooms = `m.room_id IN (SELECT room_id FROM room_members WHERE user_id = $user)${oneRoom ? " AND m.room_id = $room" : ""}`;
  const after = cursor ? "AND (s.rank > $rank OR (s.rank = $rank AND s.rowid < $before))" : "";
  const [rank, walk] =
    order === "rank"
      ? ["s.rank", `s.rowid <= $upTo ${after} ORDER BY s.rank, s.rowid DESC`]
      : ["0", "s.rowid < $before ORDER BY s.rowid DESC"];
  return `WITH hits AS (SELECT s.rowid AS hit, ${rank} AS r FROM messages_search($match) s
      CROSS JOIN messages m ON m.id = s.rowid
      WHERE ${rooms} AND m.deleted_at IS NULL AND ${walk} LIMIT $limit)
    SELECT ${MESSAGE}, r FROM hits JOIN messages ON id = hit ORDER BY r, id DESC`;
}

// upTo: the newest message answered to its sender (reads stop there, as history's do).
export function createSearch(db: Database, upTo: () => number): Pick<Store, "searchMessages"> {
  return {
    async searchMessages({ userId, roomId, query, order, limit, before }) {
      const cursor = order === "rank" && before !== undefined;
      const params: Params = { match: fts5Expression(query), user: userId, limit };
      if (roomId !== undefined) params.room = roomId;
      if (order === "newest") params.before = Math.min(before?.id ?? Infinity, upTo() + 1);
      else params.upTo = upTo();
      if (cursor) Object.assign(params, { rank: before.rank!, before: before.id });
      const rows = db.query<Row, [Params]>(statement(order, roomId !== undefined, cursor)).all(params);
      return rows.map(({ r, ...row }): Found => {
        const message = toMessage(row);
        return order === "rank" ? { message, rank: r } : { message };
      });
    },
  };
}
