// How both stores page a message search (store.ts MessageSearch), written once: the store reads the window
// (the newest `scan` matching messages below the cursor, any room) and the caller's hits in it; the page
// and the next cursor are made here.
import type { Found, MessageSearch, SearchPage, SearchWindow } from "./store.ts";

// hits: the caller's matches with low <= id < below, in the search's order, after its rank cursor, at most limit.
export type WindowReader = {
  window(search: MessageSearch, below: number): Promise<SearchWindow>;
  hits(search: MessageSearch, low: number, below: number, limit: number): Promise<Found[]>;
};

export async function searchPage(search: MessageSearch, read: WindowReader): Promise<SearchPage> {
  const below = search.before?.below ?? Number.MAX_SAFE_INTEGER;
  const window = await read.window(search, below);
  if (window.count === 0) return { found: [], next: null };
  // The window's own top, so that a rank cursor names this window again.
  const top = Math.min(below, window.high + 1);
  const rows = await read.hits(search, window.low, top, search.limit + 1);
  const found = rows.slice(0, search.limit);
  const last = found.at(-1);
  if (rows.length > search.limit && last) {
    const next =
      search.order === "rank" ? { below: top, rank: last.rank!, id: last.message.id } : { below: last.message.id };
    return { found, next };
  }
  // The window is done: the next one starts below it, unless it reached the oldest match.
  return { found, next: window.count === search.scan ? { below: window.low } : null };
}
