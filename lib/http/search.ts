// Message search: GET /v1/search over the rooms the caller is a member of now.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import type { Limits } from "../limits/limits.ts";
import { highlights, parseQuery } from "../search/query.ts";
import type { Found, MessageSearch, SearchCursor } from "../store/store.ts";
import { limitParam, roomId } from "../validate.ts";
import { json, type Req } from "./respond.ts";
import { searchJson } from "./shapes.ts";

export const SEARCH_PAGE = { default: 20, max: 100 };

export function searchHandlers(deps: SessionDeps & { limits: Pick<Limits, "search"> }) {
  const { store, limits } = deps;
  return {
    async handleSearch(req: Req) {
      const caller = await requireUser(deps, req);
      const search = searchParams(new URL(req.url).searchParams, caller.userId);
      limits.search(caller.userId);
      if (search.roomId !== undefined && !(await store.isMember(search.roomId, caller.userId))) {
        throw new ApiError("room_not_found");
      }
      // One more than asked: whether there is a next page.
      const found = await store.searchMessages({ ...search, limit: search.limit + 1 });
      const page = found.slice(0, search.limit);
      const next = found.length > search.limit ? cursorText(page.at(-1)!) : null;
      return json(
        searchJson(
          page.map((f) => ({ ...f, highlights: highlights(f.message.text, search.query) })),
          next,
        ),
      );
    },
  };
}

function searchParams(params: URLSearchParams, userId: number): MessageSearch {
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
    ...(room === null ? {} : { roomId: roomId(room) }),
    ...cursorParam(params.get("before"), order),
  };
}

// The cursor of the next page: newest first, the last message's id; by rank, "<rank>_<id>".
function cursorText(f: Found): string {
  return f.rank === undefined ? String(f.message.id) : `${f.rank}_${f.message.id}`;
}

function cursorParam(raw: string | null, order: MessageSearch["order"]): { before?: SearchCursor } {
  if (raw === null) return {};
  const m = /^(?:(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)_)?(\d{1,16})$/i.exec(raw);
  const id = Number(m?.[2]);
  const rank = m?.[1] === undefined ? undefined : Number(m[1]);
  if (!m || !Number.isSafeInteger(id) || (rank === undefined) !== (order === "newest") || !Number.isFinite(rank ?? 0)) {
    const shape = order === "newest" ? "a message id" : "the next cursor of an order=rank page";
    throw new ApiError("invalid_query", `before must be ${shape}`);
  }
  return { before: rank === undefined ? { id } : { id, rank } };
}
