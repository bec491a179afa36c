// Message search: GET /v1/search over the rooms the caller is a member of now.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import type { Limits } from "../limits/limits.ts";
import { highlights, parseQuery } from "../search/query.ts";
import type { MessageSearch, SearchCursor } from "../store/store.ts";
import { limitParam, roomId } from "../validate.ts";
import { json, type Req } from "./respond.ts";
import { type FileUrl, searchJson } from "./shapes.ts";

export const SEARCH_PAGE = { default: 20, max: 100 };

// scan: --search-scan, the matching messages one search reads at most.
export function searchHandlers(deps: SessionDeps & { limits: Pick<Limits, "search">; scan: number; fileUrl: FileUrl }) {
  const { store, limits, scan } = deps;
  return {
    async handleSearch(req: Req) {
      const caller = await requireUser(deps, req);
      const search = searchParams(new URL(req.url).searchParams, caller.userId, scan);
      limits.search(caller.userId);
      if (search.roomId !== undefined && !(await store.isMember(search.roomId, caller.userId))) {
        throw new ApiError("room_not_found");
      }
      const page = await store.searchMessages(search);
      const found = page.found.map((f) => ({ ...f, highlights: highlights(f.message.text, search.query) }));
      return json(searchJson(found, page.next && cursorText(page.next), deps.fileUrl));
    },
  };
}

function searchParams(params: URLSearchParams, userId: number, scan: number): MessageSearch {
  const q = params.get("q");
  if (q === null) throw new ApiError("invalid_query", "q is required");
  const order = params.get("order") ?? "newest";
  if (order !== "newest" && order !== "rank") throw new ApiError("invalid_query", "order must be newest or rank");
  const room = params.get("room_id");
  return {
    userId,
    query: parseQuery(q),
    order,
    limit: limitParam(params, SEARCH_PAGE.default, SEARCH_PAGE.max),
    scan,
    ...(room === null ? {} : { roomId: roomId(room) }),
    ...cursorParam(params.get("before"), order),
  };
}

// The next page's cursor: "<id>" (below that id), or by rank within a window "<id>_<rank>_<id>".
function cursorText(c: SearchCursor): string {
  return c.rank === undefined ? String(c.below) : `${c.below}_${c.rank}_${c.id}`;
}

const CURSOR = /^(\d{1,16})(?:_(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)_(\d{1,16}))?$/i;

function cursorParam(raw: string | null, order: MessageSearch["order"]): { before?: SearchCursor } {
  if (raw === null) return {};
  const m = CURSOR.exec(raw);
  const [below, rank, id] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
  const ranked = m?.[2] !== undefined;
  if (
    !m ||
    !Number.isSafeInteger(below) ||
    (ranked && (order !== "rank" || !Number.isFinite(rank) || !Number.isSafeInteger(id)))
  ) {
    throw new ApiError("invalid_query", `before must be the next of an order=${order} page (or a message id)`);
  }
  return { before: ranked ? { below, rank, id } : { below } };
}
