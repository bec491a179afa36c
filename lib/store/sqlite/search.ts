// Message search on SQLite: the FTS5 index messages_search (schema.sql, written by the message writer in
// its transactions), read a window at a time (store/search-page.ts), joined to messages for the caller's rooms.
import type { Database } from "bun:sqlite";
import { fts5Expression } from "../../search/query.ts";
import { searchPage } from "../search-page.ts";
import type { Found, MessageSearch, SearchWindow, Store } from "../store.ts";
import { MESSAGE, type MessageRow, toMessage } from "./columns.ts";

type Row = MessageRow & { r: number };
type Params = Record<string, number | string>;

// The window: postings only, no row read.
const WINDOW = `SELECT count(*) AS count, coalesce(min(hit), 0) AS low, coalesce(max(hit), 0) AS high
  FROM (SELECT rowid AS hit FROM messages_search($match) WHERE rowid < $below ORDER BY rowid DESC LIMIT $scan)`;

// The index drives (CROSS JOIN keeps it the outer loop) within the window's ids: newest first it walks
// rowids down and stops at the page; by rank it scores only the hits in the caller's rooms (+: SQLite
// sorts them itself, after the join, instead of FTS5 scoring every match of the window).
function hitsStatement(order: MessageSearch["order"], oneRoom: boolean, cursor: boolean): string {
  const rooms = `m.room_id IN (SELECT room_id FROM room_members WHERE user_id = $user)${oneRoom ? " AND m.room_id = $room" : ""}`;
  const after = cursor ? "AND (s.rank > $rank OR (s.rank = $rank AND s.rowid < $id))" : "";
  const [rank, sort] = order === "rank" ? ["s.rank", "+s.rank, s.rowid DESC"] : ["0", "s.rowid DESC"];
  return `WITH hits AS (SELECT s.rowid AS hit, ${rank} AS r FROM messages_search($match) s
      CROSS JOIN messages m ON m.id = s.rowid
      WHERE s.rowid >= $low AND s.rowid < $below AND ${rooms} AND m.deleted_at IS NULL ${after}
      ORDER BY ${sort} LIMIT $limit)
    SELECT ${MESSAGE}, r FROM hits JOIN messages ON id = hit ORDER BY r, id DESC`;
}

// upTo: the newest message answered to its sender (reads stop there, as history's do).
export function createSearch(db: Database, upTo: () => number): Pick<Store, "searchMessages"> {
  const window = db.query<SearchWindow, [Params]>(WINDOW);
  return {
    searchMessages: (search) =>
      searchPage(search, {
        async window(s, below) {
          return window.get({ match: fts5Expression(s.query), below: Math.min(below, upTo() + 1), scan: s.scan })!;
        },
        async hits(s, low, below, limit) {
          const params: Params = { match: fts5Expression(s.query), user: s.userId, low, below, limit };
          if (s.roomId !== undefined) params.room = s.roomId;
          const cursor = s.order === "rank" && s.before?.rank !== undefined;
          if (cursor) Object.assign(params, { rank: s.before!.rank!, id: s.before!.id! });
          const rows = db.query<Row, [Params]>(hitsStatement(s.order, s.roomId !== undefined, cursor)).all(params);
          return rows.map(({ r, ...row }): Found => {
            const message = toMessage(row);
            return s.order === "rank" ? { message, rank: r } : { message };
          });
        },
      }),
  };
}
