// Message search on PostgreSQL: messages.search (a tsvector written with the text from
// lib/search/tokens.ts, NULL once deleted) through its GIN index, a window at a time
// (store/search-page.ts), for the caller's rooms, newest first or by -ts_rank (lower is better, as bm25).
import type { SQL } from "bun";
import { tsqueryText } from "../../search/query.ts";
import { byRank, foundIn, searchPage, type WindowRead } from "../search-page.ts";
import type { Message, MessageSearch, Store } from "../store.ts";
import { fileEpoch, message, type Row } from "./rows.ts";

export function createSearch(sql: SQL): Pick<Store, "searchMessages"> {
  return { searchMessages: (search) => searchPage(search, (s, below, limit) => read(sql, s, below, limit)) };
}

// The window's matches newest first: for each whether it is the caller's and (by rank) its -ts_rank;
// then the page's rows by id.
async function read(sql: SQL, s: MessageSearch, below: number, limit: number): Promise<WindowRead> {
  const rank = s.order === "rank" ? sql`CASE WHEN mine THEN (-ts_rank(search, q))::float8 END` : sql`NULL`;
  const scanned: Row[] = await sql`SELECT id, mine, ${rank} AS r FROM (SELECT m.id, m.search, x.q,
        m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ${s.userId})
          ${s.roomId === undefined ? sql`` : sql`AND m.room_id = ${s.roomId}`} AS mine
      FROM messages m, (SELECT ${tsqueryText(s.query)}::tsquery AS q) x
      WHERE m.search @@ x.q AND m.id < ${below} ORDER BY m.id DESC LIMIT ${s.scan}) w
    ORDER BY id DESC`;
  if (scanned.length === 0) return { count: 0, low: 0, high: 0, hits: [] };
  const mine = scanned.filter((r) => r.mine).map((r) => ({ id: Number(r.id), rank: (r.r as number | null) ?? 0 }));
  const hits = (s.order === "rank" ? byRank(mine, s.before) : mine).slice(0, limit);
  const rows = await sql`SELECT *, ${fileEpoch(sql)} FROM messages WHERE id = ANY(${hits.map((h) => h.id)}::bigint[])
    AND deleted_at IS NULL`;
  const byId = new Map<number, Message>(rows.map((r: Row) => [Number(r.id), message(r)]));
  const low = Number(scanned.at(-1)!.id);
  return { count: scanned.length, low, high: Number(scanned[0]!.id), hits: foundIn(hits, byId, s.order) };
}
