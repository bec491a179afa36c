// Web Push from the page (issue 18). After login, and from a secure context only (https, or localhost), the
// service worker (/sw.js, web/sw.ts) is registered and the session mirrored for it (session-db.ts); once
// notifications are allowed, the browser's push subscription is registered with the server (GET /v1/push/key,
// PushManager.subscribe, POST /v1/push/subscriptions), again at each load without asking. Logging out removes
// it before the session ends. A browser that cannot subscribe (no push service within reach) keeps the in-tab
// notifications (notify.ts), and a quiet line under the header says that they come only while echat is open.
import type { PushSubscriptionJson } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";
import { clearSession, saveSession } from "./session-db.ts";

const SLOW_MS = 10_000; // a subscription not made by then is said to be missing (it may still come)
const UNSUBSCRIBE_MS = 3000; // logging out waits this long at most for the browser to drop its subscription

const supported = () => window.isSecureContext && "serviceWorker" in navigator;
const canPush = () => supported() && "PushManager" in window && typeof Notification === "function";

// A room's push notifications are tagged so (web/sw.ts makes the same).
const roomTag = (roomId: number) => `echat-room-${roomId}`;

export type Opener = (roomId: number, messageId: number) => void;

export class PushSubscriber {
  readonly status = h("p", { id: "push-status", class: "hint", role: "status", hidden: true });
  private registration: Promise<ServiceWorkerRegistration | null> = Promise.resolve(null);
  private pending: Promise<void> | null = null;

  // open: a click on a push notification, passed on by the worker to this window.
  constructor(open: Opener) {
    if (!supported()) return;
    navigator.serviceWorker.addEventListener("message", (e) => {
      const m = e.data as { type?: string; room_id?: unknown; message_id?: unknown } | null;
      if (m?.type === "open" && Number.isInteger(m.room_id) && Number.isInteger(m.message_id))
        open(m.room_id as number, m.message_id as number);
    });
  }

  // Logged in (or loaded with a session): the worker registered, the session mirrored for it, and, with
  // notifications already allowed, the subscription refreshed silently.
  start(session: string) {
    if (!supported()) return;
    void saveSession(session).catch(() => {});
    const sw = navigator.serviceWorker;
    this.registration = sw.register("/sw.js", { scope: "/" }).then(
      () => sw.ready,
      () => null,
    );
    if (typeof Notification === "function" && Notification.permission === "granted") void this.subscribe();
  }

  // Notifications were just allowed: subscribe (once at a time). What it makes is registered in the session of
  // the moment it comes (it may take long), or dropped when nobody is logged in by then.
  subscribe(): Promise<void> {
    this.pending ??= this.subscribeOnce().finally(() => (this.pending = null));
    return this.pending;
  }

  private async subscribeOnce() {
    if (!canPush() || Notification.permission !== "granted" || !client.session) return;
    const missing = "Notifications come only while echat is open";
    const late = `${missing}: this browser has not reached its push service yet.`;
    const slow = setTimeout(() => client.session && this.say(late), SLOW_MS);
    try {
      const registration = await this.registration;
      if (!registration) throw new Error("the service worker did not start");
      const sub = await subscription(registration, await client.pushKey());
      if (!client.session) return void sub.unsubscribe().catch(() => {}); // logged out meanwhile
      await client.subscribePush(sub.toJSON() as PushSubscriptionJson);
      this.say(null);
    } catch (err) {
      if (client.session) this.say(`${missing}: ${(err as Error).message || String(err)}`);
    } finally {
      clearTimeout(slow);
    }
  }

  // The room was read up to messageId (here or on another device): its push notifications up to there close.
  read(roomId: number, messageId: number) {
    if (!supported()) return;
    const closeUpTo = async (r: ServiceWorkerRegistration | undefined) => {
      for (const n of (await r?.getNotifications({ tag: roomTag(roomId) })) ?? [])
        if (((n.data as { message_id?: number } | null)?.message_id ?? Infinity) <= messageId) n.close();
    };
    void navigator.serviceWorker
      .getRegistration("/")
      .then(closeUpTo)
      .catch(() => {});
  }

  // Before logging out: the subscription removed on the server (with the session still valid) and in the
  // browser. ended(): the session is over already (the server removed its subscriptions with it).
  stop = () => this.end(true);
  ended = () => void this.end(false);

  private async end(tellServer: boolean) {
    this.say(null);
    if (!supported()) return;
    const sub = await navigator.serviceWorker
      .getRegistration("/")
      .then((r) => r?.pushManager?.getSubscription() ?? null)
      .catch(() => null);
    if (sub && tellServer) await client.unsubscribePush(sub.endpoint).catch(() => {});
    const late = new Promise((resolve) => setTimeout(resolve, UNSUBSCRIBE_MS));
    if (sub) await Promise.race([sub.unsubscribe().catch(() => {}), late]);
    await clearSession().catch(() => {});
  }

  private say(text: string | null) {
    this.status.textContent = text ?? "";
    this.status.hidden = text === null;
  }
}

// The browser's subscription for this server's key: the one it has, or a new one (a different key, after the
// server's database changed, cannot be reused).
async function subscription(registration: ServiceWorkerRegistration, key: string): Promise<PushSubscription> {
  const applicationServerKey = fromBase64url(key);
  const had = await registration.pushManager.getSubscription();
  if (had && sameBytes(had.options.applicationServerKey, applicationServerKey)) return had;
  await had?.unsubscribe();
  return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const binary = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}
