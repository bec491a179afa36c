// The service worker (issue 18): Web Push notifications while no echat window is in front, and a click on one
// opens its room. The binary serves it at /sw.js (lib/http/page.ts), transpiled from this file and not bundled:
// it imports nothing at run time (types only), so it repeats the few things it shares with the page (the
// session's IndexedDB store, web/session-db.ts; a message's preview, as the server cuts it).
import type { Message, PushSubscriptionJson } from "../client/index.ts";

// The payload the server encrypts (docs/api.md, Push): `text` is absent with --push-preview off.
type Push = {
  type: "message";
  room_id: number;
  message_id: number;
  sender: string;
  room_name: string | null;
  text?: string;
};
type Opened = { room_id: number; message_id: number };

// The parts of the worker's global scope this file uses (tsconfig's DOM library has no worker types).
type WindowClient = {
  focused: boolean;
  visibilityState: DocumentVisibilityState;
  focus(): Promise<WindowClient>;
  postMessage(message: unknown): void;
};
interface ExtendableEvent extends Event {
  waitUntil(done: Promise<unknown>): void;
}
type Events = {
  install: ExtendableEvent;
  activate: ExtendableEvent;
  push: ExtendableEvent & { data: { json(): unknown } | null };
  notificationclick: ExtendableEvent & { notification: Notification };
  pushsubscriptionchange: ExtendableEvent & {
    oldSubscription: PushSubscription | null;
    newSubscription: PushSubscription | null;
  };
};
type Scope = {
  registration: ServiceWorkerRegistration;
  clients: {
    matchAll(o: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener<K extends keyof Events>(type: K, listener: (e: Events[K]) => void): void;
};
const worker = self as unknown as Scope;

const GENERIC = "New message";
const PREVIEW = 200; // code points, as the server cuts `text`

worker.addEventListener("install", () => void worker.skipWaiting());
worker.addEventListener("activate", (e) => e.waitUntil(worker.clients.claim()));
worker.addEventListener("push", (e) => e.waitUntil(showPush(readPush(e.data))));
worker.addEventListener("notificationclick", (e) => {
  e.notification.close();
  e.waitUntil(openRoom(e.notification.data as Opened | null));
});
worker.addEventListener("pushsubscriptionchange", (e) =>
  e.waitUntil(resubscribe(e.oldSubscription, e.newSubscription).catch(() => {})),
);

function readPush(data: { json(): unknown } | null): Push | null {
  try {
    const p = data?.json() as Push | null;
    return p?.type === "message" && Number.isInteger(p.room_id) && Number.isInteger(p.message_id) ? p : null;
  } catch {
    return null;
  }
}

// Browsers penalize a push that shows nothing, unless one of the site's windows is in front: then that page
// shows its own in-tab notification (web/notify.ts) and this shows none. Anything else shows one, a generic one
// when the payload cannot be read.
async function showPush(push: Push | null) {
  const windows = await worker.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (windows.some((w) => w.focused && w.visibilityState === "visible")) return;
  if (!push) return worker.registration.showNotification("echat", { body: GENERIC, tag: "echat" });
  const body = push.text ?? (await fetchPreview(push).catch(() => null)) ?? GENERIC;
  const title = push.room_name === null ? push.sender : `${push.sender} in ${push.room_name}`;
  const data: Opened = { room_id: push.room_id, message_id: push.message_id };
  // One per room (tag; web/push.ts closes them by it once the room is read): a newer push replaces the older,
  // and alerts again (renotify).
  const options = { body, tag: `echat-room-${push.room_id}`, renotify: true, data };
  await worker.registration.showNotification(title, options as NotificationOptions);
}

// Without a preview in the payload (--push-preview off), the message itself, read with the page's session.
async function fetchPreview(push: Push): Promise<string | null> {
  const session = await readSession();
  if (!session) return null;
  const path = `/v1/rooms/${push.room_id}/messages?after=${push.message_id - 1}&limit=1`;
  const res = await fetch(path, { headers: { "x-session-id": session } });
  if (!res.ok) return null;
  const m = ((await res.json()) as Message[]).find((m) => m.id === push.message_id);
  return m ? preview(m) || null : null;
}

// As the server's `text`: the text cut to 200 code points with "…", or the first file's name in brackets.
function preview(m: Pick<Message, "text" | "files">): string {
  const points = [...m.text];
  if (points.length > PREVIEW) return `${points.slice(0, PREVIEW).join("")}…`;
  return m.text || (m.files?.length ? `[${m.files[0]!.name}]` : "");
}

// A click: the room in the echat window used last (focused, and told to open the room: web/push.ts changes its
// address's hash, no reload), else in a new window.
async function openRoom(data: Opened | null) {
  const hash = data ? `#room/${data.room_id}/${data.message_id}` : "";
  const [open] = await worker.clients.matchAll({ type: "window", includeUncontrolled: true }); // most recent first
  if (!open) return void (await worker.clients.openWindow(`/${hash}`));
  await open.focus().catch(() => {}); // allowed only inside a notification click
  if (data) open.postMessage({ type: "open", ...data } satisfies { type: "open" } & Opened);
}

// The push service replaced the subscription (expiry, key rotation): the new one registered with the
// server in this browser's session, and the old one removed.
async function resubscribe(old: PushSubscription | null, fresh: PushSubscription | null) {
  const session = await readSession();
  if (!session) return;
  const key = old?.options.applicationServerKey ?? (await api<{ key: string }>(session, "GET", "/v1/push/key")).key;
  const sub =
    fresh ?? (await worker.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
  await api(session, "POST", "/v1/push/subscriptions", sub.toJSON() as PushSubscriptionJson);
  if (old && old.endpoint !== sub.endpoint)
    await api(session, "DELETE", "/v1/push/subscriptions", { endpoint: old.endpoint });
}

async function api<T = unknown>(session: string, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "x-session-id": session };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
  return (await res.json()) as T;
}

// The session the page mirrors into IndexedDB (web/session-db.ts: the same names), or null when logged out.
function readSession(): Promise<string | null> {
  return new Promise((resolve) => {
    const open = indexedDB.open("echat", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("session");
    open.onerror = () => resolve(null);
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction("session").objectStore("session").get("current");
      get.onsuccess = () => (db.close(), resolve(typeof get.result === "string" ? get.result : null));
      get.onerror = () => (db.close(), resolve(null));
    };
  });
}
