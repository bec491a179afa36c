// How both stores page a message search (store.ts MessageSearch), written once: the store reads the window
// (the newest `scan` matching messages below the cursor, any room) and the caller's hits in it; the page
// and the next cursor are made here.
import type { Found, MessageSearch, SearchPage } from "./store.ts";

// count, low, high: the window's matches read and their lowest and highest id (count may stop short of the
// window once more than `limit` hits were found). hits: the caller's, in the search's order, after its rank
// cursor, at most limit.
export type WindowRead = { count: number; low: number; high: number; hits: Found[] };
export type ReadWindow = (search: MessageSearch, below: number, limit: number) => Promise<WindowRead>;

export async function searchPage(search: MessageSearch, read: ReadWindow): Promise<SearchPage> {
  const below = search.before?.below ?? Number.MAX_SAFE_INTEGER;
  const window = await read(search, below, search.limit + 1);
  if (window.count === 0) return { found: [], next: null };
  const found = window.hits.slice(0, search.limit);
  const last = found.at(-1);
  if (window.hits.length > search.limit && last) {
    // By rank the cursor names this window again by its own top.
    const top = Math.min(below, window.high + 1);
    const next =
      search.order === "rank" ? { below: top, rank: last.rank!, id: last.message.id } : { below: last.message.id };
    return { found, next };
  }
  // The window is done: the next one starts below it, unless it reached the oldest match.
  return { found, next: window.count === search.scan ? { below: window.low } : null };
}

// Rank order within a window: (rank, id descending), after the cursor's (rank, id).
export function byRank<T extends { rank: number; id: number }>(hits: T[], after?: { rank?: number; id?: number }): T[] {
  const sorted = hits.sort((a, b) => a.rank - b.rank || b.id - a.id);
  if (after?.rank === undefined) return sorted;
  const { rank, id } = after as { rank: number; id: number };
  return sorted.filter((h) => h.rank > rank || (h.rank === rank && h.id < id));
}
