// Message search on PostgreSQL: messages.search (a tsvector written with the text from
// lib/search/tokens.ts, NULL once deleted) through its GIN index, a window at a time
// (store/search-page.ts), for the caller's rooms, newest first or by -ts_rank (lower is better, as bm25).
import type { SQL } from "bun";
import { tsqueryText } from "../../search/query.ts";
import { searchPage } from "../search-page.ts";
import type { Found, MessageSearch, SearchWindow, Store } from "../store.ts";
import { message, type Row } from "./rows.ts";

export function createSearch(sql: SQL): Pick<Store, "searchMessages"> {
  return {
    searchMessages: (search) =>
      searchPage(search, {
        async window(s, below) {
          const [w] = await sql`SELECT count(*) AS count, coalesce(min(id), 0) AS low, coalesce(max(id), 0) AS high
            FROM (SELECT id FROM messages WHERE search @@ ${tsqueryText(s.query)}::tsquery AND id < ${below}
              ORDER BY id DESC LIMIT ${s.scan}) w`;
          return { count: Number(w.count), low: Number(w.low), high: Number(w.high) };
        },
        hits: (s, low, below, limit) => hits(sql, s, low, below, limit),
      }),
  };
}

async function hits(sql: SQL, s: MessageSearch, low: number, below: number, limit: number): Promise<Found[]> {
  const q = tsqueryText(s.query);
  const where = sql`m.search @@ x.q AND m.id >= ${low} AND m.id < ${below} AND m.deleted_at IS NULL
    AND m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ${s.userId})
    ${s.roomId === undefined ? sql`` : sql`AND m.room_id = ${s.roomId}`}`;
  if (s.order === "newest") {
    const rows = await sql`SELECT m.* FROM messages m, (SELECT ${q}::tsquery AS q) x WHERE ${where}
      ORDER BY m.id DESC LIMIT ${limit}`;
    return rows.map((r: Row): Found => ({ message: message(r) }));
  }
  const { rank, id } = s.before ?? {};
  const after = rank === undefined ? sql`` : sql`WHERE r > ${rank} OR (r = ${rank} AND id < ${id!})`;
  const rows = await sql`SELECT * FROM (SELECT m.*, (-ts_rank(m.search, x.q))::float8 AS r
      FROM messages m, (SELECT ${q}::tsquery AS q) x WHERE ${where}) hits
    ${after} ORDER BY r, id DESC LIMIT ${limit}`;
  return rows.map((r: Row): Found => ({ message: message(r), rank: r.r }));
}
