// Room WebSockets: authorization before upgrade, topics per room, store-then-publish,
// gap-free resume, opt-in events, and kicking a session's sockets.
import type { Server, ServerWebSocket } from "bun";
import { type Caller, checkSessions, requireUser } from "./auth.ts";
import type { Config } from "./config.ts";
import { ApiError, CLOSE, type ErrorCode, errorBody } from "./errors.ts";
import { clientAddress, type Limits } from "./limits.ts";
import type { Logger } from "./log.ts";
import { errorResponse } from "./respond.ts";
import { type Message, type Store, messageJson } from "./store.ts";
import { cursor, isObject, roomId, validClientId, validText } from "./validate.ts";

export const EVENTS = ["typing", "presence", "read"] as const;
type Event = (typeof EVENTS)[number];

export type SocketData = {
  userId: number;
  roomId: number;
  tokenHash: string;
  events: ReadonlySet<Event>;
  after: number | undefined;
  joining: Message[] | null; // while the backlog is read: live messages buffered here
  release: () => void; // frees the connection slot (limits.openSocket)
};
type WS = ServerWebSocket<SocketData>;

const BACKLOG_CAP = 1000;
const TYPING_EVERY_MS = 2000;
const SLOW_CONSUMER_BYTES = 1024 * 1024;
const SESSION_CHECK_MS = 60_000;

// The hub owns topic names. Plain messages go to one topic, typed ones (for clients that opted in
// to events) to another, and each event kind has its own, so a socket gets exactly what it asked for.
const topic = {
  plain: (room: number) => `r${room}`,
  typed: (room: number) => `r${room}:m`,
  event: (room: number, e: Event) => `r${room}:${e}`,
};

export type Hub = ReturnType<typeof createHub>;

export function createHub(deps: { store: Store; config: Config; now: () => number; log: Logger; limits: Limits }) {
  const { store, config, now, log, limits } = deps;
  let server: Server<SocketData> | undefined;
  const bySession = new Map<string, Set<WS>>();
  const joining = new Map<number, Set<WS>>(); // room -> sockets reading their backlog
  const online = new Map<number, Map<number, number>>(); // room -> user -> open sockets
  const lastTyping = new Map<string, number>();
  const sockets = new Set<WS>();
  let delivered = 0; // message frames handed to sockets, for /metrics

  const send = (ws: WS, body: unknown) => ws.send(JSON.stringify(body));
  const sendError = (ws: WS, code: ErrorCode, clientId?: string | null) =>
    send(ws, clientId ? { ...errorBody(code), client_id: clientId } : errorBody(code));

  // One stringify per message; the typed frame is the same JSON with "type" in front, built only
  // when some socket in the room asked for events.
  function publishMessage(m: Message) {
    const plain = JSON.stringify(messageJson(m));
    const waiting = joining.get(m.room_id);
    if (waiting) for (const ws of waiting) ws.data.joining!.push(m);
    const typed = topic.typed(m.room_id);
    const typedCount = server!.subscriberCount(typed);
    delivered += server!.subscriberCount(topic.plain(m.room_id)) + typedCount;
    server!.publish(topic.plain(m.room_id), plain, false);
    if (typedCount > 0) server!.publish(typed, `{"type":"message",${plain.slice(1)}`, false);
  }

  function publishEvent(room: number, e: Event, body: object) {
    server!.publish(topic.event(room, e), JSON.stringify({ type: e, room_id: room, ...body }), false);
  }

  function onlineList(room: number) {
    return [...(online.get(room)?.keys() ?? [])];
  }

  function goLive(ws: WS) {
    const { roomId: room, events } = ws.data;
    ws.subscribe(events.size ? topic.typed(room) : topic.plain(room));
    for (const e of events) ws.subscribe(topic.event(room, e));
    let users = online.get(room);
    if (!users) online.set(room, (users = new Map()));
    const before = users.get(ws.data.userId) ?? 0;
    users.set(ws.data.userId, before + 1);
    if (before === 0) publishEvent(room, "presence", { online: onlineList(room) });
    else if (events.has("presence")) send(ws, { type: "presence", room_id: room, online: onlineList(room) });
  }

  async function resume(ws: WS, after: number) {
    const room = ws.data.roomId;
    const backlog = await store.listMessages(room, { after, limit: BACKLOG_CAP + 1 });
    if (ws.readyState !== 1) return;
    const typed = ws.data.events.size > 0;
    const frame = (m: Message) => JSON.stringify(typed ? { type: "message", ...messageJson(m) } : messageJson(m));
    let last = after;
    if (backlog.length > BACKLOG_CAP) {
      send(ws, { type: "resync", room_id: room });
    } else {
      for (const m of backlog) ws.send(frame(m));
      delivered += backlog.length;
      last = backlog.at(-1)?.id ?? after;
    }
    // Messages published while we read: skip what the backlog already held.
    for (const m of ws.data.joining!) {
      if (m.id <= last) continue;
      ws.send(frame(m));
      delivered++;
    }
    ws.data.joining = null;
    joining.get(room)?.delete(ws);
    goLive(ws);
  }

  async function handleFrame(ws: WS, raw: string | Buffer) {
    let frame: unknown;
    try {
      frame = JSON.parse(typeof raw === "string" ? raw : new TextDecoder("utf-8", { fatal: true }).decode(raw));
    } catch {
      return sendError(ws, "invalid_json");
    }
    if (!isObject(frame)) return sendError(ws, "invalid_json");
    const { roomId: room, userId } = ws.data;
    const type = frame.type ?? "message";
    if (type === "message") {
      let clientId: string | null;
      try {
        clientId = validClientId(frame.client_id);
      } catch {
        return sendError(ws, "invalid_json");
      }
      let text: string;
      try {
        text = validText(frame.text, config.maxMessageLength);
      } catch {
        return sendError(ws, "invalid_text", clientId);
      }
      if (!limits.message(userId)) return sendError(ws, "rate_limited", clientId);
      let stored;
      try {
        stored = await store.createMessage({ roomId: room, userId, text, clientId, now: now() });
      } catch (e) {
        log.error("storing a message failed", { room, error: String(e) });
        return sendError(ws, "internal_error", clientId);
      }
      if (stored.duplicate) {
        const body = messageJson(stored.message);
        return send(ws, ws.data.events.size ? { type: "message", ...body } : body);
      }
      return publishMessage(stored.message);
    }
    if (type === "typing") {
      const key = `${room}:${userId}`;
      const t = now();
      if (t - (lastTyping.get(key) ?? -Infinity) < TYPING_EVERY_MS) return;
      lastTyping.set(key, t);
      // ws.publish skips the sender itself.
      return ws.publish(topic.event(room, "typing"), JSON.stringify({ type: "typing", room_id: room, user_id: userId }));
    }
    if (type === "read") {
      const id = frame.message_id;
      if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return sendError(ws, "invalid_json");
      const marker = await store.markRead(room, userId, id);
      return publishEvent(room, "read", { user_id: userId, message_id: marker });
    }
    return sendError(ws, typeof type === "string" ? "unknown_type" : "invalid_json");
  }

  // Slow consumers: close with 1013 once a socket has more than 1 MiB queued. It still gets
  // everything queued before the close frame, so reconnecting with ?after= loses nothing.
  // The same tick runs the session check once a minute (by the injected clock).
  const sweep = setInterval(() => {
    for (const ws of sockets) {
      if (ws.getBufferedAmount() > SLOW_CONSUMER_BYTES) ws.close(CLOSE.slowConsumer.code, CLOSE.slowConsumer.reason);
    }
    maybeCheckSessions();
  }, 250);
  sweep.unref();

  let lastCheck = now();
  let checking = false;
  // Sessions can end behind our back: expiry, or `echat user passwd` in another process.
  function maybeCheckSessions() {
    if (checking || now() - lastCheck < SESSION_CHECK_MS) return;
    checking = true;
    lastCheck = now();
    const end = (hex: string) => {
      for (const ws of bySession.get(hex) ?? []) ws.close(CLOSE.loggedOut.code, CLOSE.loggedOut.reason);
    };
    checkSessions({ store, config, now, log }, [...bySession.keys()], end)
      .catch((e) => log.error("session check failed", { error: String(e) }))
      .finally(() => (checking = false));
  }

  return {
    bind(s: Server<SocketData>) {
      server = s;
    },
    publishMessage,

    // GET /v1/rooms/:id/chat: everything is checked before the upgrade, with normal JSON errors.
    async handleChat(req: Request & { params: Record<string, string> }, s: Server<SocketData>) {
      const url = new URL(req.url);
      const caller: Caller = await requireUser(deps, req, url);
      const room = roomId(req.params.id!);
      if (!(await store.isMember(room, caller.userId))) throw new ApiError("room_not_found");
      const after = cursor(url.searchParams.get("after"), "after");
      const events = new Set<Event>();
      for (const e of (url.searchParams.get("events") ?? "").split(",").filter(Boolean)) {
        if (!(EVENTS as readonly string[]).includes(e)) throw new ApiError("invalid_query", `unknown event ${JSON.stringify(e)}`);
        events.add(e as Event);
      }
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return errorResponse("upgrade_required");
      const release = limits.openSocket(caller.userId, clientAddress(req, s, config.trustProxy));
      const data: SocketData = {
        userId: caller.userId,
        roomId: room,
        tokenHash: caller.tokenHash.toHex(),
        events,
        after,
        joining: after === undefined ? null : [],
        release,
      };
      if (s.upgrade(req, { data })) return undefined;
      release();
      return errorResponse("upgrade_required");
    },

    websocket: {
      data: {} as SocketData,
      maxPayloadLength: 64 * 1024,
      idleTimeout: 60,
      sendPings: true,
      // A hard stop far above the 1 MiB sweep: past it Bun drops the socket rather than a message.
      backpressureLimit: 16 * 1024 * 1024,
      closeOnBackpressureLimit: true,
      open(ws: WS) {
        sockets.add(ws);
        let mine = bySession.get(ws.data.tokenHash);
        if (!mine) bySession.set(ws.data.tokenHash, (mine = new Set()));
        mine.add(ws);
        if (ws.data.after === undefined) return goLive(ws);
        let set = joining.get(ws.data.roomId);
        if (!set) joining.set(ws.data.roomId, (set = new Set()));
        set.add(ws);
        resume(ws, ws.data.after).catch((e) => {
          log.error("resume failed", { room: ws.data.roomId, error: String(e) });
          ws.close(1011, "resume failed");
        });
      },
      message(ws: WS, raw: string | Buffer) {
        handleFrame(ws, raw).catch((e) => {
          log.error("frame failed", { error: String(e) });
          sendError(ws, "internal_error");
        });
      },
      close(ws: WS) {
        ws.data.release();
        sockets.delete(ws);
        const { roomId: room, userId, tokenHash } = ws.data;
        bySession.get(tokenHash)?.delete(ws);
        if (bySession.get(tokenHash)?.size === 0) bySession.delete(tokenHash);
        if (ws.data.joining) {
          joining.get(room)?.delete(ws);
          return;
        }
        const users = online.get(room);
        const n = users?.get(userId) ?? 0;
        if (n > 1) return void users!.set(userId, n - 1);
        users?.delete(userId);
        if (users?.size === 0) online.delete(room);
        publishEvent(room, "presence", { online: onlineList(room) });
      },
    },

    closeSession(tokenHash: Uint8Array) {
      for (const ws of bySession.get(tokenHash.toHex()) ?? []) ws.close(CLOSE.loggedOut.code, CLOSE.loggedOut.reason);
    },

    // After a password change: every socket of the user but those of the session that changed it.
    closeUser(userId: number, except: Uint8Array) {
      const keep = except.toHex();
      for (const ws of sockets) {
        if (ws.data.userId === userId && ws.data.tokenHash !== keep) ws.close(CLOSE.loggedOut.code, CLOSE.loggedOut.reason);
      }
    },

    closeAll() {
      clearInterval(sweep);
      for (const ws of sockets) ws.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    },

    stats() {
      return { sockets: sockets.size, rooms: online.size, delivered };
    },
  };
}
