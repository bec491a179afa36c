// GET /v1/rooms/:id/chat: everything is checked before the upgrade, with normal JSON errors; the
// socket's identity then lives in ws.data. A foreign Origin (a web page on another site) was already
// refused by the middleware (http/middleware.ts), which checks every upgrade before this handler.
import type { Server } from "bun";
import { type Caller, requireUser } from "../auth/sessions.ts";
import type { Broker } from "../broker/broker.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { errorResponse } from "../http/respond.ts";
import { clientAddress } from "../limits/address.ts";
import type { Limits } from "../limits/limits.ts";
import type { Store } from "../store/store.ts";
import { cursor, roomId } from "../validate.ts";
import type { SocketData } from "./socket.ts";
import { EVENTS, type Event } from "./topics.ts";

type Deps = { store: Store; config: Config; now: () => number; limits: Limits; broker: Broker };

export function createUpgrade(deps: Deps) {
  const { store, config, limits, broker } = deps;
  return async function handleChat(req: Request & { params: Record<string, string> }, s: Server<SocketData>) {
    const url = new URL(req.url);
    const caller: Caller = await requireUser(deps, req, url);
    const room = roomId(req.params.id!);
    if (!(await store.isMember(room, caller.userId))) throw new ApiError("room_not_found");
    const after = cursor(url.searchParams.get("after"), "after");
    const events = parseEvents(url.searchParams.get("events"));
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return errorResponse("upgrade_required");
    await broker.watch(room); // several instances: learn where the room stands before subscribing
    const release = limits.openSocket(caller.userId, clientAddress(req, s, config.trustProxy));
    const data: SocketData = {
      stream: false,
      userId: caller.userId,
      login: caller.login,
      roomId: room,
      tokenHash: caller.tokenHash.toHex(),
      events,
      after,
      release,
    };
    if (s.upgrade(req, { data })) return undefined;
    release();
    return errorResponse("upgrade_required");
  };
}

// GET /v1/stream: the user stream (stream.ts), authenticated like the room socket, under the same
// socket limits.
export function createStreamUpgrade(deps: Deps) {
  const { config, limits } = deps;
  return async function handleStream(req: Request, s: Server<SocketData>) {
    const caller: Caller = await requireUser(deps, req, new URL(req.url));
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return errorResponse("upgrade_required");
    const release = limits.openSocket(caller.userId, clientAddress(req, s, config.trustProxy));
    const data: SocketData = {
      stream: true,
      userId: caller.userId,
      login: caller.login,
      roomId: 0,
      tokenHash: caller.tokenHash.toHex(),
      events: new Set(),
      after: undefined,
      release,
    };
    if (s.upgrade(req, { data })) return undefined;
    release();
    return errorResponse("upgrade_required");
  };
}

// ?events=typing,presence,read
function parseEvents(param: string | null): Set<Event> {
  const events = new Set<Event>();
  for (const e of (param ?? "").split(",").filter(Boolean)) {
    if (!(EVENTS as readonly string[]).includes(e))
      throw new ApiError("invalid_query", `unknown event ${JSON.stringify(e)}`);
    events.add(e as Event);
  }
  return events;
}
