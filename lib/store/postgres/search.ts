// Message search on PostgreSQL: messages.search (a tsvector written with the text from
// lib/search/tokens.ts, NULL once deleted) through its GIN index, for the caller's rooms, newest first or
// by -ts_rank (lower is better, as SQLite's bm25).
import type { SQL } from "bun";
import { tsqueryText } from "../../search/query.ts";
import type { Found, Store } from "../store.ts";
import { message, type Row } from "./rows.ts";

export function createSearch(sql: SQL): Pick<Store, "searchMessages"> {
  return {
    async searchMessages({ userId, roomId, query, order, limit, before }) {
      const q = tsqueryText(query);
      const rooms = sql`m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ${userId})
        ${roomId === undefined ? sql`` : sql`AND m.room_id = ${roomId}`}`;
      if (order === "newest") {
        const rows = await sql`SELECT m.* FROM messages m WHERE m.search @@ ${q}::tsquery AND ${rooms}
          AND m.deleted_at IS NULL AND m.id < ${before?.id ?? Number.MAX_SAFE_INTEGER} ORDER BY m.id DESC LIMIT ${limit}`;
        return rows.map((r: Row): Found => ({ message: message(r) }));
      }
      const after =
        before === undefined ? sql`` : sql`WHERE r > ${before.rank!} OR (r = ${before.rank!} AND id < ${before.id})`;
      const rows = await sql`SELECT * FROM (SELECT m.*, (-ts_rank(m.search, x.q))::float8 AS r
          FROM messages m, (SELECT ${q}::tsquery AS q) x
          WHERE m.search @@ x.q AND ${rooms} AND m.deleted_at IS NULL) hits
        ${after} ORDER BY r, id DESC LIMIT ${limit}`;
      return rows.map((r: Row): Found => ({ message: message(r), rank: r.r }));
    },
  };
}
