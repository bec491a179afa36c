// Room WebSockets: authorization before upgrade, topics per room, store-then-publish,
// gap-free resume, opt-in events, and kicking a session's sockets.
import type { Server, ServerWebSocket } from "bun";
import { type Caller, checkSessions, requireUser } from "../auth/sessions.ts";
import type { Broker, Kick } from "../broker/broker.ts";
import type { Config } from "../config.ts";
import { ApiError, CLOSE, type ErrorCode, errorBody } from "../errors.ts";
import { clientAddress } from "../limits/address.ts";
import type { Limits } from "../limits/limits.ts";
import type { Logger } from "../log.ts";
import { createDelivery } from "./deliver.ts";
import { EVENTS, type Event, topic } from "./topics.ts";
import { errorResponse } from "../http/respond.ts";
import { messageJson } from "../http/shapes.ts";
import type { Message, Store } from "../store/store.ts";
import { cursor, isObject, roomId, validClientId, validText } from "../validate.ts";

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

export type Hub = ReturnType<typeof createHub>;

// The broker carries messages and events to other instances (and orders what comes back).
export function createHub(deps: {
  store: Store;
  config: Config;
  now: () => number;
  log: Logger;
  limits: Limits;
  broker: Broker;
}) {
  const { store, config, now, log, limits, broker } = deps;
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
  const { publishEvent, onlineList, announcePresence, local } = createDelivery({
    broker,
    log,
    joining,
    online,
    server: () => server,
    onDeliver: (frames) => void (delivered += frames),
  });

  function goLive(ws: WS) {
    const { roomId: room, events } = ws.data;
    ws.subscribe(events.size ? topic.typed(room) : topic.plain(room));
    for (const e of events) ws.subscribe(topic.event(room, e));
    let users = online.get(room);
    if (!users) online.set(room, (users = new Map()));
    const before = users.get(ws.data.userId) ?? 0;
    users.set(ws.data.userId, before + 1);
    if (before === 0) {
      broker.presence(room, ws.data.userId, true);
      announcePresence(room);
    } else if (events.has("presence"))
      announcePresence(room, (list) => send(ws, { type: "presence", room_id: room, online: list }));
  }

  async function resume(ws: WS, after: number) {
    const room = ws.data.roomId;
    // Several instances: the backlog stops where this instance's delivery stands; everything after
    // that reaches the joining buffer in order, so nothing comes twice and nothing is skipped.
    const upto = broker.position(room) ?? Infinity;
    const backlog = (await store.listMessages(room, { after, limit: BACKLOG_CAP + 1 })).filter((m) => m.id <= upto);
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
        if (e instanceof ApiError) return sendError(ws, e.code, clientId); // unavailable: the database is away
        log.error("storing a message failed", { room, error: String(e) });
        return sendError(ws, "internal_error", clientId);
      }
      if (stored.duplicate) {
        const body = messageJson(stored.message);
        return send(ws, ws.data.events.size ? { type: "message", ...body } : body);
      }
      return broker.message(stored.message, stored.prev);
    }
    if (type === "typing") {
      const key = `${room}:${userId}`;
      const t = now();
      if (t - (lastTyping.get(key) ?? -Infinity) < TYPING_EVERY_MS) return;
      lastTyping.set(key, t);
      // ws.publish skips the sender itself.
      ws.publish(topic.event(room, "typing"), JSON.stringify({ type: "typing", room_id: room, user_id: userId }));
      return broker.event(room, "typing", { user_id: userId });
    }
    if (type === "read") {
      const id = frame.message_id;
      if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return sendError(ws, "invalid_json");
      const marker = await store.markRead(room, userId, id);
      publishEvent(room, "read", { user_id: userId, message_id: marker });
      return broker.event(room, "read", { user_id: userId, message_id: marker });
    }
    return sendError(ws, typeof type === "string" ? "unknown_type" : "invalid_json");
  }

  function closeSession(tokenHash: string) {
    for (const ws of bySession.get(tokenHash) ?? []) ws.close(CLOSE.loggedOut.code, CLOSE.loggedOut.reason);
  }
  function closeUser(userId: number, keep: string) {
    for (const ws of sockets) {
      if (ws.data.userId === userId && ws.data.tokenHash !== keep)
        ws.close(CLOSE.loggedOut.code, CLOSE.loggedOut.reason);
    }
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
    // What the broker calls: delivery, and logouts elsewhere closing sockets here.
    local: {
      ...local,
      kick: (k: Kick) => ("session" in k ? closeSession(k.session) : closeUser(k.user, k.keep)),
    },

    // GET /v1/rooms/:id/chat: everything is checked before the upgrade, with normal JSON errors.
    async handleChat(req: Request & { params: Record<string, string> }, s: Server<SocketData>) {
      const url = new URL(req.url);
      const caller: Caller = await requireUser(deps, req, url);
      const room = roomId(req.params.id!);
      if (!(await store.isMember(room, caller.userId))) throw new ApiError("room_not_found");
      const after = cursor(url.searchParams.get("after"), "after");
      const events = new Set<Event>();
      for (const e of (url.searchParams.get("events") ?? "").split(",").filter(Boolean)) {
        if (!(EVENTS as readonly string[]).includes(e))
          throw new ApiError("invalid_query", `unknown event ${JSON.stringify(e)}`);
        events.add(e as Event);
      }
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return errorResponse("upgrade_required");
      await broker.watch(room); // several instances: learn where the room stands before subscribing
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
      idleTimeout: config.wsIdleTimeout,
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
        broker.presence(room, userId, false);
        announcePresence(room);
      },
    },

    // On every instance (through the broker): that session's sockets.
    closeSession(tokenHash: Uint8Array) {
      closeSession(tokenHash.toHex());
      broker.kick({ session: tokenHash.toHex() });
    },

    // After a password change, on every instance: every socket of the user but those of the session that changed it.
    closeUser(userId: number, except: Uint8Array) {
      closeUser(userId, except.toHex());
      broker.kick({ user: userId, keep: except.toHex() });
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
