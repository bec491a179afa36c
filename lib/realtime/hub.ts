// The hub: this instance's room sockets. It keeps the socket registry, closes sockets (kicks, slow
// consumers, ended sessions, shutdown), counts for /metrics, runs the WebSocket open/message/close
// handlers, and implements the broker's handler and the Notifier that REST handlers call.
import type { Server } from "bun";
import { checkSessions } from "../auth/sessions.ts";
import type { Broker, BrokerEventHandler, Kick } from "../broker/broker.ts";
import type { Config } from "../config.ts";
import { CLOSE } from "../errors.ts";
import type { Limits } from "../limits/limits.ts";
import type { Logger } from "../log.ts";
import type { Message, Store } from "../store/store.ts";
import { createDelivery, type Delivery } from "./deliver.ts";
import { type FrameContext, handleFrame } from "./frames.ts";
import type { Notifier } from "./notifier.ts";
import { createPresence, type Presence } from "./presence.ts";
import { createReadMarkers, type ReadMarkers } from "./read-markers.ts";
import { createResumer } from "./resume.ts";
import { RoomState } from "./room-state.ts";
import { type SocketData, send, sendError, type WS } from "./socket.ts";
import { topic } from "./topics.ts";
import type { FileUrl } from "../http/shapes.ts";
import { createStreamSync } from "./stream-sync.ts";
import { createStreams, type Streams } from "./stream.ts";
import { createStreamUpgrade, createUpgrade } from "./upgrade.ts";
import { ANYWHERE, createUserPresence, type UserPresence } from "./user-presence.ts";

const SLOW_CONSUMER_BYTES = 1024 * 1024;
const SWEEP_MS = 250;
const SESSION_CHECK_MS = 60_000;

type Deps = {
  store: Store;
  config: Config;
  now: () => number;
  log: Logger;
  limits: Limits;
  broker: Broker;
  fileUrl: FileUrl; // a file's signed URL, for the messages the hub makes JSON of
  stored?: (m: Message) => void; // each message stored on this instance, after its delivery began
};
type Close = { code: number; reason: string };

export type Hub = ReturnType<typeof createHub>;

export function createHub(deps: Deps) {
  const { log, broker } = deps;
  let server: Server<SocketData> | undefined;
  let delivered = 0; // message frames handed to sockets, for /metrics
  const onDeliver = (frames: number) => void (delivered += frames);
  const rooms = new RoomState();
  const registry = createRegistry();
  let streams: Streams | undefined;
  const delivery = createDelivery({
    rooms,
    server: () => server,
    onDeliver,
    streams: () => streams!,
    fileUrl: deps.fileUrl,
  });
  const presence = createPresence({ broker, rooms, log, publish: delivery.event });
  const userPresence = createUserPresence({ broker, log });
  const reads = createReadMarkers(deps);
  const handlers = socketHandlers({ ...deps, registry, rooms, presence, userPresence, delivery, reads, onDeliver });
  const { websocket, resumer } = handlers;
  streams = handlers.streams;
  const sweep = startSweep(deps, registry, () => (resumer.sweep(), reads.sweep(), streams!.sweep()));

  // Every delivery to sockets here comes through this, from the broker, whichever instance began it.
  const handler: BrokerEventHandler = {
    message: delivery.message,
    roomEvent: delivery.roomEvent,
    event: delivery.event,
    presenceChanged: (room) => (room === ANYWHERE ? userPresence.changed() : presence.announce(room)),
    kick: registry.kick,
    interested: (room) =>
      room === ANYWHERE ? userPresence.interested() : rooms.interested(room) || streams!.interested(room),
    onlinePairs: () => [...rooms.pairs(), ...userPresence.pairs()],
  };

  // What REST handlers call: every instance's broker hands the kick to its hub.
  const notifier: Notifier = {
    sessionEnded: (tokenHash) => broker.kick({ session: tokenHash.toHex() }),
    passwordChanged: (userId, keep) => broker.kick({ user: userId, keep: keep.toHex() }),
    memberRemoved: (roomId, userId) => broker.kick({ room: roomId, user: userId }),
    roomChanged: (events) => {
      for (const e of events) broker.roomEvent(e);
    },
    userEnded: (userId) => broker.kick({ user: userId }),
    settingsChanged: (roomId, userId, { notify }) => broker.event(roomId, "settings", { user_id: userId, notify }),
  };

  return {
    ...notifier,
    handler,
    websocket,
    handleChat: createUpgrade(deps),
    handleStream: createStreamUpgrade(deps),
    bind(s: Server<SocketData>) {
      server = s;
    },
    // Shutdown: close every socket, then write the read markers still pending, before the store closes.
    closeAll(): Promise<void> {
      clearInterval(sweep);
      registry.closeAll(CLOSE.shutdown);
      return reads.flush();
    },
    stats() {
      return { sockets: registry.size, rooms: rooms.roomCount, delivered };
    },
    // The users with any socket open on any instance (Web Push goes to the others).
    online: (): number[] | Promise<number[]> => broker.online(ANYWHERE, userPresence.here),
  };
}

// Bun's websocket handlers. A socket without ?after= goes live at once; one with it reads its backlog first.
function socketHandlers(
  deps: Deps & {
    registry: Registry;
    rooms: RoomState;
    presence: Presence;
    userPresence: UserPresence;
    delivery: Delivery;
    reads: ReadMarkers;
    onDeliver: (frames: number) => void;
  },
) {
  const { config, log, registry, rooms, presence, userPresence, delivery, reads } = deps;
  const frames: FrameContext = { ...deps, lastTyping: new Map() };
  const sync = createStreamSync({ ...deps, streams: () => streams });
  const streams = createStreams({
    ...deps,
    frames,
    subscriptionsChanged: delivery.subscriptionsChanged,
    sync,
    presence: userPresence,
  });
  function goLive(ws: WS) {
    const { roomId: room, events } = ws.data;
    ws.subscribe(events.size ? topic.typed(room) : topic.plain(room));
    for (const e of events) ws.subscribe(topic.event(room, e));
    delivery.subscriptionsChanged(room);
    presence.arrive(ws);
  }
  const resumer = createResumer({ ...deps, goLive });
  const websocket = {
    data: {} as SocketData,
    maxPayloadLength: 64 * 1024,
    idleTimeout: config.wsIdleTimeout,
    sendPings: true,
    // A hard stop far above the 1 MiB sweep: past it Bun drops the socket rather than a message.
    backpressureLimit: 16 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    open(ws: WS) {
      registry.add(ws);
      userPresence.opened(ws.data.userId, ws.data.stream);
      if (ws.data.stream) {
        streams.open(ws);
        send(ws, { type: "hello", user: { id: ws.data.userId, login: ws.data.login } });
        return;
      }
      stillMember(deps, ws);
      if (ws.data.after === undefined) return goLive(ws);
      rooms.startJoining(ws.data.roomId, ws);
      resumer.start(ws, ws.data.after).catch((e) => {
        log.error("resume failed", { room: ws.data.roomId, error: String(e) });
        ws.close(1011, "resume failed");
      });
    },
    message(ws: WS, raw: string | Buffer) {
      const handled = ws.data.stream ? handleStreamFrame(streams, ws, raw) : handleFrame(frames, ws, raw);
      handled.catch((e) => {
        log.error("frame failed", { error: String(e) });
        sendError(ws, "internal_error");
      });
    },
    drain: (ws: WS) => (ws.data.stream ? streams.drain(ws) : resumer.drain(ws)),
    close(ws: WS) {
      ws.data.release();
      registry.remove(ws);
      userPresence.closed(ws.data.userId, ws.data.stream);
      reads.closed(ws);
      if (ws.data.stream) return streams.close(ws);
      resumer.closed(ws);
      const { roomId: room, userId } = ws.data;
      delivery.subscriptionsChanged(room);
      if (rooms.finishJoining(room, ws)) return; // never went live
      presence.leave(room, userId);
    },
  };
  return { websocket, resumer, streams };
}

// The upgrade checked membership before the socket was registered here; a removal committed between the
// two found no socket to kick. Read again now that it is registered: a removal committed before this read
// closes it here, one committed after it sends its kick, which finds the socket.
function stillMember({ store, log }: Deps, ws: WS) {
  const { roomId, userId } = ws.data;
  store.isMember(roomId, userId).then(
    (member) => member || ws.readyState > 1 || ws.close(CLOSE.removed.code, CLOSE.removed.reason),
    (e) => log.warn("membership re-check failed", { room: roomId, error: String(e) }),
  );
}

// A stream's frame: JSON as on a room socket, then the stream's own table (stream.ts).
async function handleStreamFrame(streams: Streams, ws: WS, raw: string | Buffer) {
  let frame: unknown;
  try {
    frame = JSON.parse(typeof raw === "string" ? raw : new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    return sendError(ws, "invalid_json");
  }
  return streams.message(ws, frame);
}

// Every open socket here, and by session (token hash as hex), so kicks find theirs.
function createRegistry() {
  const sockets = new Set<WS>();
  const bySession = new Map<string, Set<WS>>();
  const closeAll = (list: Iterable<WS>, why: Close) => {
    for (const ws of list) ws.close(why.code, why.reason);
  };
  const closeWhere = (why: Close, pick: (data: SocketData) => boolean) => {
    for (const ws of sockets) if (pick(ws.data)) ws.close(why.code, why.reason);
  };
  return {
    add(ws: WS) {
      sockets.add(ws);
      let mine = bySession.get(ws.data.tokenHash);
      if (!mine) bySession.set(ws.data.tokenHash, (mine = new Set()));
      mine.add(ws);
    },
    remove(ws: WS) {
      sockets.delete(ws);
      const mine = bySession.get(ws.data.tokenHash);
      mine?.delete(ws);
      if (mine?.size === 0) bySession.delete(ws.data.tokenHash);
    },
    kick(k: Kick) {
      if ("session" in k) closeAll(bySession.get(k.session) ?? [], CLOSE.loggedOut);
      else if ("keep" in k) closeWhere(CLOSE.loggedOut, (d) => d.userId === k.user && d.tokenHash !== k.keep);
      else if ("room" in k) closeWhere(CLOSE.removed, (d) => d.userId === k.user && d.roomId === k.room);
      else closeWhere(CLOSE.loggedOut, (d) => d.userId === k.user);
    },
    sessions: () => [...bySession.keys()],
    sockets: () => sockets.values(),
    closeAll: (why: Close) => closeAll(sockets, why),
    get size() {
      return sockets.size;
    },
  };
}
type Registry = ReturnType<typeof createRegistry>;

// Slow consumers: close with 1013 once a socket has more than 1 MiB queued. It still gets everything
// queued before the close frame, so reconnecting with ?after= loses nothing. The same tick runs the
// session check once a minute (by the injected clock): sessions can end behind our back (expiry, or
// `echat user passwd` in another process). Each instance checks its own sockets. `tick`: the stalled
// backlogs and the pending read markers, also timed by the injected clock.
function startSweep(deps: Deps, registry: Registry, tick: () => void) {
  const { now, log } = deps;
  let lastCheck = now();
  let checking = false;
  function maybeCheckSessions() {
    if (checking || now() - lastCheck < SESSION_CHECK_MS) return;
    checking = true;
    lastCheck = now();
    checkSessions(deps, registry.sessions(), (hex) => registry.kick({ session: hex }))
      .catch((e) => log.error("session check failed", { error: String(e) }))
      .finally(() => (checking = false));
  }
  const sweep = setInterval(() => {
    for (const ws of registry.sockets()) {
      if (ws.getBufferedAmount() > SLOW_CONSUMER_BYTES) ws.close(CLOSE.slowConsumer.code, CLOSE.slowConsumer.reason);
    }
    tick();
    maybeCheckSessions();
  }, SWEEP_MS);
  sweep.unref();
  return sweep;
}
