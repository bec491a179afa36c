// Wiring only: config -> store -> broker -> hub -> handlers -> Bun.serve -> shutdown. main.ts is the entry point.
import type { Server } from "bun";
import pkg from "./package.json" with { type: "json" };
import { openBroker } from "./lib/broker/open.ts";
import type { Config } from "./lib/config.ts";
import { accountHandlers } from "./lib/http/accounts.ts";
import { adminHandlers } from "./lib/http/admin.ts";
import { documentHandlers } from "./lib/http/api/handlers.ts";
import { fileHandlers } from "./lib/http/files.ts";
import type { FileUrl } from "./lib/http/shapes.ts";
import { openStorage } from "./lib/files/open.ts";
import { createSigner, newFileSecret } from "./lib/files/signing.ts";
import { pushHandlers } from "./lib/http/push.ts";
import { generateVapidKeys, type VapidKeys } from "./lib/push/vapid.ts";
import { type Pushes, startPushes } from "./lib/push/pushes.ts";
import { startOrphanSweep } from "./lib/files/sweep.ts";
import { startRetentionSweep } from "./lib/retention/sweep.ts";
import { inviteHandlers } from "./lib/http/invites.ts";
import { memberHandlers } from "./lib/http/members.ts";
import { sessionHandlers } from "./lib/http/sessions.ts";
import { messageChangeHandlers } from "./lib/http/message-changes.ts";
import { messageHandlers } from "./lib/http/messages.ts";
import { opsHandlers } from "./lib/http/ops.ts";
import { roomHandlers } from "./lib/http/rooms.ts";
import { searchHandlers } from "./lib/http/search.ts";
import { userHandlers } from "./lib/http/users.ts";
import type { Notifier } from "./lib/realtime/notifier.ts";
import { createHub } from "./lib/realtime/hub.ts";
import { createLimits } from "./lib/limits/limits.ts";
import { openSharedBuckets } from "./lib/limits/shared.ts";
import { checkSharedFolder } from "./lib/files/folder-mark.ts";
import { createLogger } from "./lib/log.ts";
import { countStore, createMetrics } from "./lib/metrics.ts";
import { createObserver, toResponse } from "./lib/http/middleware.ts";
import { pageRoutes } from "./lib/http/page.ts";
import { errorResponse, methods } from "./lib/http/respond.ts";
import { announceRegistration } from "./lib/auth/registration.ts";
import { announceStartup } from "./lib/startup.ts";
import { withSessionCache } from "./lib/auth/session-cache.ts";
import { openDatabase } from "./lib/store/open.ts";
import type { Store } from "./lib/store/store.ts";
import page from "./web/index.html";
import * as serviceWorker from "./web/sw.ts" with { type: "text" };

export const VERSION = pkg.version;

const GRACE_MS = 5000; // after this, connections still open at shutdown are cut

// stop(): at once, for tests. shutdown(): graceful, for signals (see stop below).
export type Running = {
  url: string;
  wsUrl: string;
  port: number;
  stop: () => Promise<void>;
  shutdown: () => Promise<void>;
  routePaths: string[]; // the route table's paths, which test/spec.test.ts compares with /v1/openapi.json
};

// env: where the S3 credentials and endpoint are read (default process.env; tests point at their own server).
type Options = {
  now?: () => number;
  wrapStore?: (s: Store) => Store;
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
};

// wrapStore lets a test inject a failing store to prove the error paths; production never passes it.
// log: where log lines go (default stderr); tests capture them.
export async function startServer(config: Config, opts: Options = {}): Promise<Running> {
  const parts = await openParts(config, opts);
  const { log, hub, observe } = parts;
  let stopping = false;
  const table = routes(parts, () => stopping);
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    // The API's own limits answer in JSON: 64 KiB for JSON bodies (readJson), --max-file-size for uploads.
    maxRequestBodySize: Math.max(16 * 1024 * 1024, config.maxFileSize + 1024 * 1024),
    development: false, // dev mode injects an inline HMR script, which the page's CSP forbids
    // Explicit: with development off, Bun otherwise binds with SO_REUSEPORT, and a second echat on the
    // same port would silently share its traffic instead of failing to start.
    reusePort: false,
    routes: observe.routes(table),
    websocket: hub.websocket,
    fetch: observe.wrap("unmatched", () => errorResponse("not_found")) as (req: Request, s: any) => Promise<Response>,
    error: (e) => toResponse(e, log),
  });
  hub.bind(server);
  const url = `http://${server.hostname === "0.0.0.0" ? "localhost" : server.hostname}:${server.port}`;
  announceStartup(parts);
  // A database hiccup here must not leave a listening server behind a failed start: it is only logged.
  await announceRegistration(parts, url, server.port!).catch((e) =>
    log.error("first-admin setup link failed", { error: String(e) }),
  );
  const stop = (graceMs: number) => {
    stopping = true;
    return stopParts(parts, server, graceMs);
  };
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    port: server.port!,
    stop: () => stop(0),
    shutdown: () => stop(GRACE_MS),
    routePaths: Object.keys(table),
  };
}

type Parts = Awaited<ReturnType<typeof openParts>>;

// Database -> limits -> broker -> hub, each given only what it uses.
async function openParts(config: Config, opts: Options) {
  const log = createLogger(config, opts.log);
  const now = opts.now ?? Date.now;
  const metrics = createMetrics(VERSION);
  const { store: opened, pg, upgrade } = await openDatabase(config);
  if (upgrade && upgrade.from > 0) {
    const saved = upgrade.backup ? { backup: upgrade.backup } : {};
    log.info(`upgraded the database from schema ${upgrade.from} to ${upgrade.to}`, saved);
  }
  const cache = withSessionCache(countStore(opts.wrapStore ? opts.wrapStore(opened) : opened, metrics), now);
  const store = cache.store;
  // The broker and the shared buckets use the PostgreSQL client itself (LISTEN/NOTIFY, upserts).
  const shared = openSharedBuckets(config, pg, now, log);
  const limits = createLimits(config, now, shared);
  const broker = await openBroker(config, opened, pg, log, now);
  // The key of signed file URLs: made by the first instance ever to start, shared through the database.
  const signer = createSigner(await store.setting("file_secret", newFileSecret()), now);
  const fileUrl: FileUrl = (f) => signer.url(f, f.epoch);
  // The VAPID key pair (Web Push): likewise made once, the same on every instance.
  const vapid = JSON.parse(await store.setting("vapid_keys", JSON.stringify(await generateVapidKeys()))) as VapidKeys;
  const storage = openStorage(config, opts.env);
  // Web Push: the hub hands each message stored here to the queue, which never holds up the message path.
  let pushes: Pushes | undefined;
  const hub = createHub({ store, config, now, log, limits, broker, fileUrl, stored: (m) => pushes?.stored(m) });
  pushes = await startPushes({ store, config, now, log, metrics, vapid, online: hub.online });
  // Several instances (a shared database) each with its own folder: a file is found only where it was uploaded.
  if (config.databaseUrl && !config.filesS3) await checkSharedFolder(store, storage.where, log);
  const sweep = startOrphanSweep({ store, storage, now, log });
  const retention = startRetentionSweep({
    store,
    storage,
    serverSeconds: config.retention,
    now,
    log,
    deleted: (n) => metrics.retentionDeleted.inc(undefined, n),
  });
  // Kicks end sessions on every instance: each forgets them from its own session cache, then closes sockets.
  await broker.start({ ...hub.handler, kick: (k) => (cache.forget(k), hub.handler.kick(k)) });
  metrics.readFrom({
    sockets: () => hub.stats().sockets,
    rooms: () => hub.stats().rooms,
    delivered: () => hub.stats().delivered,
    filesStoredBytes: () => store.filesStoredBytes(),
    pushQueue: () => store.countPushQueue(),
  });
  const observe = createObserver({ config, log, metrics });
  return {
    config,
    log,
    now,
    metrics,
    store,
    shared,
    limits,
    broker,
    hub,
    observe,
    signer,
    storage,
    fileUrl,
    sweep,
    retention,
    vapid,
    pushes,
  };
}

// The whole API on one screen: path -> method -> handler.
function routes(parts: Parts, stopping: () => boolean) {
  const { config, log, now, metrics, store, limits, hub, signer, storage, fileUrl, vapid } = parts;
  const notify: Notifier = hub;
  const sessions = { store, config, now };
  const accounts = accountHandlers({ store, config, now, limits, log, notify });
  const users = userHandlers({ ...sessions, limits });
  const rooms = roomHandlers({ ...sessions, limits, notify, fileUrl });
  const members = memberHandlers({ ...sessions, notify, fileUrl });
  const messages = messageHandlers({ ...sessions, fileUrl });
  const search = searchHandlers({ ...sessions, limits, scan: config.searchScan, fileUrl });
  const changes = messageChangeHandlers({ ...sessions, limits, notify, fileUrl, storage, log });
  const files = fileHandlers({ ...sessions, limits, signer, storage, log });
  const invites = inviteHandlers(sessions);
  const admin = adminHandlers({ ...sessions, notify, log });
  const mySessions = sessionHandlers({ ...sessions, notify });
  const push = pushHandlers({
    ...sessions,
    vapidPublicKey: vapid.publicKey,
    allowLoopback: config.pushAllowLoopback,
  });
  const ops = opsHandlers({ store, log, metrics, stopping });
  const documents = documentHandlers(VERSION);
  return {
    ...pageRoutes(page, serviceWorker),
    "/v1/register": methods({ POST: accounts.handleRegister }),
    "/v1/login": methods({ POST: accounts.handleLogin }),
    "/v1/logout": methods({ POST: accounts.handleLogout }),
    "/v1/password": methods({ POST: accounts.handlePassword }),
    "/v1/info": methods({ GET: accounts.handleInfo }),
    "/v1/sessions": methods({ GET: mySessions.handleListSessions }),
    "/v1/sessions/:id": methods({ DELETE: mySessions.handleEndSession }),
    "/v1/push/key": methods({ GET: push.handlePushKey }),
    "/v1/push/subscriptions": methods({ POST: push.handleSubscribe, DELETE: push.handleUnsubscribe }),
    "/v1/invites": methods({ GET: invites.handleListInvites, POST: invites.handleCreateInvite }),
    "/v1/invites/:code": methods({ DELETE: invites.handleRevokeInvite }),
    "/v1/admin/users": methods({ GET: admin.handleListUsers }),
    "/v1/admin/users/:id": methods({ PATCH: admin.handleUpdateUser, DELETE: admin.handleDeleteUser }),
    "/v1/users": methods({ GET: users.handleSearchUsers }),
    "/v1/users/": methods({ GET: users.handleSearchUsers }),
    "/v1/rooms": methods({ GET: rooms.handleListRooms, POST: rooms.handleCreateRoom }),
    "/v1/rooms/public": methods({ GET: rooms.handleListPublicRooms }),
    "/v1/rooms/:id": methods({ GET: rooms.handleGetRoom, PATCH: rooms.handleUpdateRoom }),
    "/v1/rooms/:id/users": methods({ POST: members.handleAddMembers }),
    "/v1/rooms/:id/users/:user_id": methods({ DELETE: members.handleRemoveMember }),
    "/v1/rooms/:id/join": methods({ POST: members.handleJoinRoom }),
    "/v1/rooms/:id/settings": methods({ PUT: rooms.handleSetRoomSettings }),
    "/v1/rooms/:id/messages": methods({ GET: messages.handleListMessages }),
    "/v1/rooms/:id/messages/:message_id": methods({
      PATCH: changes.handleEditMessage,
      DELETE: changes.handleDeleteMessage,
    }),
    "/v1/rooms/:id/messages/:message_id/reactions/:emoji": methods({
      PUT: changes.handleReact,
      DELETE: changes.handleUnreact,
    }),
    "/v1/rooms/:id/files": methods({ POST: files.handleUpload }),
    "/v1/files/:id/:name": methods({ GET: files.handleDownload }),
    "/v1/rooms/:id/chat": methods({ GET: hub.handleChat }),
    "/v1/stream": methods({ GET: hub.handleStream }),
    "/v1/search": methods({ GET: search.handleSearch }),
    "/healthz": methods({ GET: ops.handleHealth }),
    "/readyz": methods({ GET: ops.handleReady }),
    "/metrics": methods({ GET: ops.handleMetrics }),
    "/v1/openapi.json": methods({ GET: documents.handleOpenApi }),
    "/v1/asyncapi.json": methods({ GET: documents.handleAsyncApi }),
  };
}

// Stop accepting, close every WebSocket with 1001, give requests in flight up to graceMs, then cut
// what is left, write pending messages, checkpoint and close the database.
async function stopParts(
  { log, hub, broker, shared, store, sweep, retention, pushes }: Parts,
  server: Server<unknown>,
  graceMs: number,
) {
  const drained = server.stop(); // idle keep-alive connections close now
  await hub.closeAll(); // pending read markers are written
  let timer: Timer | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), graceMs)));
  if ((await Promise.race([drained, late])) === "late") {
    if (graceMs > 0) log.warn("connections still open after the grace period; closing them");
    await server.stop(true);
  }
  clearTimeout(timer);
  await sweep.stop();
  await retention.stop();
  await pushes.stop(); // what gathered is written; sends in flight are cut (their rows go out again later)
  await broker.close();
  shared?.close();
  await store.close();
}
