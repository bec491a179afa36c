// Message search on SQLite: the FTS5 index messages_search (schema.sql, written by the message writer in
// its transactions) walked newest first through one window (store/search-page.ts), each match's row read
// for its room; the page's messages are read by id after.
import type { Database } from "bun:sqlite";
import { fts5Expression } from "../../search/query.ts";
import { byRank, searchPage, type WindowRead } from "../search-page.ts";
import type { Found, MessageSearch, Store } from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";

type Scanned = { hit: number; mine: number; r: number | null };
type Params = Record<string, number | string>;

// One pass over the window: the index drives (CROSS JOIN keeps it the outer loop) newest first; mine says
// whether the match is the caller's; by rank, bm25 is computed for those only (CASE is lazy).
function scanStatement(order: MessageSearch["order"], oneRoom: boolean): string {
  const mine = `(m.room_id IN (SELECT room_id FROM room_members WHERE user_id = $user)${oneRoom ? " AND m.room_id = $room" : ""} AND m.deleted_at IS NULL)`;
  return `SELECT s.rowid AS hit, ${mine} AS mine, ${order === "rank" ? `CASE WHEN ${mine} THEN s.rank END` : "NULL"} AS r
    FROM messages_search($match) s CROSS JOIN messages m ON m.id = s.rowid
    WHERE s.rowid < $below ORDER BY s.rowid DESC LIMIT $scan`;
}

// upTo: the newest message answered to its sender (reads stop there, as history's do).
export function createSearch(db: Database, upTo: () => number): Pick<Store, "searchMessages"> {
  const byIds = db.query<MessageRow, [string]>(
    `SELECT ${MESSAGE} FROM messages WHERE id IN (SELECT value FROM json_each(?))`,
  );

  async function read(s: MessageSearch, below: number, limit: number): Promise<WindowRead> {
    const params: Params = {
      match: fts5Expression(s.query),
      user: s.userId,
      below: Math.min(below, upTo() + 1),
      scan: s.scan,
    };
    if (s.roomId !== undefined) params.room = s.roomId;
    const scan = db.query<Scanned, [Params]>(scanStatement(s.order, s.roomId !== undefined));
    let [count, low, high] = [0, 0, 0];
    let hits: { id: number; rank: number }[] = [];
    // Newest first a page usually fills long before the window ends: rows one at a time. By rank the
    // whole window is read, faster in one call.
    for (const row of s.order === "newest" ? scan.iterate(params) : scan.all(params)) {
      count++;
      if (count === 1) high = row.hit;
      low = row.hit;
      if (!row.mine) continue;
      hits.push({ id: row.hit, rank: row.r ?? 0 });
      if (s.order === "newest" && hits.length >= limit) break; // newest first: the page is full
    }
    if (s.order === "rank") hits = byRank(hits, s.before).slice(0, limit);
    const rows = new Map(byIds.all(JSON.stringify(hits.map((h) => h.id))).map((r) => [r.id, toMessage(r)]));
    const found = hits.map(
      (h): Found => (s.order === "rank" ? { message: rows.get(h.id)!, rank: h.rank } : { message: rows.get(h.id)! }),
    );
    return { count, low, high, hits: found };
  }

  return { searchMessages: (search) => searchPage(search, read) };
}
