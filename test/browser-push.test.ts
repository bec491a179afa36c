// Issue 18's browser side of Web Push. /sw.js is served as a classic script with its own headers; in Chromium
// the page registers it only after login and from a secure context (http://127.0.0.1 is one; this machine's
// own non-loopback address over http is not); a push handed to the worker as its push service would
// (CDP ServiceWorker.deliverPushMessage, the payload of docs/api.md) shows a notification, read back through
// ServiceWorkerRegistration.getNotifications(). What headless Chromium cannot do is said where it is worked
// around: it cannot click a notification (the worker's own click listener is run by an event dispatched inside
// the worker), and its PushManager.subscribe never settles without a push service on the network (the page's
// subscription code is run against that, and against a PushManager replaced in the page to fail or succeed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { CHROMIUM, openView, signIn, until, type View } from "./support/browser.ts";
import { type Account, call, createRoom, expectError, register, registerAll } from "./support/http.ts";
import { pushRows, sessionHash, subscriptionKeys } from "./support/push-rows.ts";
import { SHOWN, type Shown, watchWorkers, type Workers } from "./support/service-worker.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { answerTo, chatUrl, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";
import { every, waitFor } from "./support/waiting.ts";

const haveChromium = needs("chromium", CHROMIUM !== null);

describe("GET /sw.js", () => {
  let s: TestServer;
  beforeAll(async () => (s = await startServer()));
  afterAll(() => s.stop());

  test("is a classic script for scope /, never cached without a check, only fetching its own origin", async () => {
    for (const method of ["GET", "HEAD"]) {
      const r = await call<string>(s.url, method, "/sw.js");
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(r.headers.get("cache-control")).toBe("no-cache");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("content-security-policy")).toBe("default-src 'none'; connect-src 'self'");
      expect(r.headers.get("service-worker-allowed")).toBeNull(); // at the root, scope / needs none
    }
    const script = (await call<string>(s.url, "GET", "/sw.js")).body;
    expect(script).toContain(`addEventListener("push"`);
    expect(script).not.toMatch(/^\s*(import|export)\b/m); // a module worker is not supported everywhere
    expect(script).not.toContain(": Push"); // transpiled: no types left
    expect(() => new Function(script)).not.toThrow(); // parses as a script
  });

  test("the page's policy allows workers from its own origin, in the header and in the page", async () => {
    const page = await call<string>(s.url, "GET", "/");
    expect(page.headers.get("content-security-policy")).toContain("worker-src 'self'");
    expect(page.body).toMatch(/Content-Security-Policy"\s+content="[^"]*worker-src 'self'/);
  });
});

// Runs before the page's scripts: records the in-tab notifications the page makes and its permission requests.
const RECORDER = `(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__asked = 0;
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      super(title, options);
      window.__notes.push({ title, body: options.body ?? "" });
    }
    static requestPermission(...args) {
      window.__asked++;
      return Real.requestPermission(...args);
    }
  };
})()`;

describe.skipIf(!haveChromium)("the service worker in Chromium", () => {
  let s: TestServer;
  let a: View; // alice, at http://127.0.0.1
  let w: Workers;
  let alice: Account;
  let bob: Account;
  let withBob: number;
  let kitchen: number;
  let dialogs = 0;
  const scope = () => `${s.url}/`;
  const says = async (who: Account, room: number, text: string) =>
    (await answerTo(chatUrl(s, room, who), { text, client_id: crypto.randomUUID() })).id as number;
  const push = (room: number, message: number, more: object = {}) => ({
    type: "message",
    room_id: room,
    message_id: message,
    seq: message + 1,
    sender: "bob",
    room_name: room === kitchen ? "Kitchen" : null,
    mention: false,
    unread: 1,
    ...more,
  });
  const shown = () => a.evaluate(SHOWN) as Promise<Shown[]>;
  const shownIn = async (tag: string) => (await shown()).filter((n) => n.tag === tag);

  beforeAll(async () => {
    s = await startServer({ config: { pushAllowLoopback: true } });
    [alice, bob] = await registerAll(s.url, ["alice", "bob"] as const);
    withBob = await createRoom(s.url, alice, [bob]);
    const group = await call(s.url, "POST", "/v1/rooms", {
      session: alice.session,
      body: { name: "Kitchen", users: [{ id: bob.id }] },
    });
    kitchen = group.body.id;
    a = openView();
    await a.navigate(`${s.url}/`);
    await a.cdp("Page.enable");
    a.addEventListener("Page.javascriptDialogOpening", () => dialogs++);
    await a.cdp("Page.addScriptToEvaluateOnNewDocument", { source: RECORDER });
    w = await watchWorkers(a);
  }, 30000);

  afterAll(async () => {
    a?.close();
    await s?.stop();
  });

  test("logged out the page registers no worker; after login /sw.js is registered for / and becomes active", async () => {
    await a.reload();
    await until(a, `!document.getElementById("auth").hidden`);
    expect(await a.evaluate("window.isSecureContext")).toBe(true);
    expect(await a.evaluate("navigator.serviceWorker.getRegistrations().then((l) => l.length)")).toBe(0);
    await signIn(a, s.url, "127.0.0.1", alice.session, withBob);
    const registration = `navigator.serviceWorker.getRegistration("/").then((r) =>
      r && { scope: r.scope, script: r.active?.scriptURL, state: r.active?.state })`;
    expect(await until<any>(a, registration, (r) => r?.state === "activated", 10000)).toEqual({
      scope: scope(),
      script: `${s.url}/sw.js`,
      state: "activated",
    });
    // The page's session, mirrored into IndexedDB: what the worker reads to fetch a message.
    expect(await w.evaluate(scope(), "readSession()")).toBe(alice.session);
  }, 30000);

  // This Chromium has no push service within reach (no network): its PushManager.subscribe neither resolves nor
  // fails (it was still pending after 280 s when tried by hand). The page keeps its in-tab notifications.
  test("allowed notifications subscribe; without a push service the page says so quietly and notifies in the tab", async () => {
    expect(await a.evaluate("window.__asked")).toBe(0);
    await a.cdp("Browser.grantPermissions", { origin: s.url, permissions: ["notifications"] });
    const status = `document.getElementById("push-status")`;
    const said = await until<string>(a, `${status}.hidden ? "" : ${status}.textContent`, Boolean, 15000);
    expect(said).toBe(
      "Notifications come only while echat is open: this browser has not reached its push service yet.",
    );
    const n = (await a.evaluate("window.__notes.length")) as number;
    await says(bob, kitchen, "@alice still here?");
    const [note] = await until<any[]>(a, `window.__notes.slice(${n})`, (l) => l.length > 0, 10000);
    expect(note).toEqual({ title: "Kitchen", body: "bob: @alice still here?" });
    expect(dialogs).toBe(0);
    expect(await a.evaluate("window.__asked")).toBe(0); // granted in the browser: nothing asked
  }, 30000);

  test("while an echat window is in front a push shows nothing: that page shows its own notifications", async () => {
    const windows = `clients.matchAll({ type: "window", includeUncontrolled: true })
      .then((l) => l.map((c) => ({ focused: c.focused, visibility: c.visibilityState })))`;
    expect(await w.evaluate(scope(), windows)).toEqual([{ focused: true, visibility: "visible" }]);
    // The worker's push handler itself, awaited (a delivered push gives no sign of being handled when it shows nothing).
    await w.evaluate(scope(), `showPush(${JSON.stringify(push(withBob, 1, { text: "unseen" }))})`);
    expect(await shown()).toEqual([]);
    // Hidden (frozen and resumed: Chromium keeps it hidden), the window no longer counts.
    await a.cdp("Page.setWebLifecycleState", { state: "frozen" });
    await a.cdp("Page.setWebLifecycleState", { state: "active" });
    expect(await w.evaluate(scope(), windows)).toEqual([{ focused: false, visibility: "hidden" }]);
  }, 30000);

  test("a push for a direct room shows the sender as title and the text as body, tagged by room, with the ids", async () => {
    await w.push(scope(), push(withBob, 41, { text: "lunch at noon?" }));
    const [note, ...more] = await shownIn(`echat-room-${withBob}`);
    expect(more).toEqual([]);
    expect(note).toEqual({
      title: "bob",
      body: "lunch at noon?",
      tag: `echat-room-${withBob}`,
      data: { room_id: withBob, message_id: 41 },
    });
  }, 30000);

  test("a group's push names the group; a newer push of the same room replaces the older", async () => {
    const tag = `echat-room-${kitchen}`;
    await w.push(scope(), push(kitchen, 50, { text: "the kettle is on", mention: true }));
    expect(await shownIn(tag)).toMatchObject([{ title: "bob in Kitchen", body: "the kettle is on" }]);
    await w.push(scope(), push(kitchen, 51, { text: "tea is ready" }));
    const [note, ...more] = await shownIn(tag);
    expect(more).toEqual([]);
    expect(note).toMatchObject({
      title: "bob in Kitchen",
      body: "tea is ready",
      data: { room_id: kitchen, message_id: 51 },
    });
    expect((await shown()).map((n) => n.tag).toSorted()).toEqual(
      [`echat-room-${kitchen}`, `echat-room-${withBob}`].toSorted(),
    );
  }, 30000);

  test("without a preview (--push-preview off) the worker fetches the message with the mirrored session", async () => {
    const id = await says(bob, withBob, "the worker read this itself");
    await w.push(scope(), push(withBob, id)); // no text
    expect(await shownIn(`echat-room-${withBob}`)).toMatchObject([
      { title: "bob", body: "the worker read this itself", data: { room_id: withBob, message_id: id } },
    ]);
  }, 30000);

  test("a message it cannot read gives a generic body; a payload it cannot parse still shows a notification", async () => {
    await w.push(scope(), push(withBob, 999999)); // no such message
    expect(await shownIn(`echat-room-${withBob}`)).toMatchObject([
      { title: "bob", body: "New message", data: { message_id: 999999 } },
    ]);
    await w.push(scope(), "not json");
    expect(await shownIn("echat")).toMatchObject([{ title: "echat", body: "New message" }]);
  }, 30000);

  // Headless Chromium has no way to click a notification: the worker's own notificationclick listener runs on an
  // event dispatched inside the worker with the real notification (only its waitUntil refuses an untrusted event).
  test("a click closes the notification and opens its room, at the message, in the echat window", async () => {
    const id = await says(bob, withBob, "click me");
    await w.push(scope(), push(withBob, id, { text: "click me" }));
    const tag = `echat-room-${withBob}`;
    expect(await shownIn(tag)).toMatchObject([{ data: { message_id: id } }]);
    await a.evaluate(`location.hash = ""`);
    await w.evaluate(
      scope(),
      `registration.getNotifications({ tag: ${JSON.stringify(tag)} }).then(([n]) =>
        void dispatchEvent(new NotificationEvent("notificationclick", { notification: n })))`,
    );
    await until(a, `location.hash === "#room/${withBob}/${id}"`);
    await until(a, `document.querySelector(".room-view")?.dataset.state === "open"`);
    expect(await a.evaluate(`document.querySelector(".room-view h2").textContent`)).toBe("bob");
    // Closing is asynchronous; nothing is being shown now, so reading the list again is safe.
    await until(a, `${SHOWN}.then((l) => !l.some((n) => n.tag === ${JSON.stringify(tag)}))`);
  }, 30000);

  test("a room read on alice's other device closes its push notification", async () => {
    const id = await says(bob, kitchen, "@alice biscuits?");
    await w.push(scope(), push(kitchen, id, { text: "@alice biscuits?", mention: true }));
    expect(await shownIn(`echat-room-${kitchen}`)).toMatchObject([{ data: { message_id: id } }]);
    const phone = await Socket.open(chatUrl(s, kitchen, alice));
    phone.send({ type: "read", message_id: id });
    await until(a, `${SHOWN}.then((l) => !l.some((n) => n.tag === "echat-room-${kitchen}"))`, undefined, 10000);
    await phone.close();
  }, 30000);

  test("a replaced subscription (pushsubscriptionchange) is registered in the session and the old one removed", async () => {
    const old = { endpoint: "http://127.0.0.1:9/push/old", keys: await subscriptionKeys() };
    expect((await call(s.url, "POST", "/v1/push/subscriptions", { session: alice.session, body: old })).status).toBe(
      200,
    );
    const fresh = { endpoint: "http://127.0.0.1:9/push/new", keys: await subscriptionKeys() };
    const asSubscription = (j: object) =>
      `({ ...${JSON.stringify(j)}, options: {}, toJSON() { return ${JSON.stringify(j)}; } })`;
    await w.evaluate(scope(), `resubscribe(${asSubscription(old)}, ${asSubscription(fresh)})`);
    const rows = await pushRows(s);
    expect(rows[fresh.endpoint]).toMatchObject({ user: alice.id, session: sessionHash(alice.session) });
    expect(rows[old.endpoint]).toBeUndefined();
    await call(s.url, "DELETE", "/v1/push/subscriptions", {
      session: alice.session,
      body: { endpoint: fresh.endpoint },
    });
  }, 30000);
});

// Replaces the page's PushManager before its scripts run (the test's stand-in for a push service this Chromium
// cannot reach): subscribe fails as Chromium's does when its push service refuses ("reject" mode), or answers a
// subscription with a real P-256 key and an endpoint on loopback (the server admits it with --push-allow-loopback).
// The subscription lives in sessionStorage so that a reload finds it again, as a browser's does.
const STUB = `(() => {
  const get = (k) => JSON.parse(sessionStorage.getItem("stub." + k) ?? "null");
  const set = (k, v) => sessionStorage.setItem("stub." + k, JSON.stringify(v));
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const fake = ({ json, key }) => ({
    endpoint: json.endpoint,
    options: { userVisibleOnly: true, applicationServerKey: new Uint8Array(key).buffer },
    toJSON: () => json,
    unsubscribe: async () => (set("current", null), set("unsubscribed", (get("unsubscribed") ?? 0) + 1), true),
  });
  PushManager.prototype.getSubscription = async () => get("current") && fake(get("current"));
  PushManager.prototype.subscribe = async (options) => {
    const key = [...new Uint8Array(options.applicationServerKey)];
    set("subscribed", [...(get("subscribed") ?? []), b64(key)]);
    if (get("mode") === "reject") throw new DOMException("Registration failed - push service error", "AbortError");
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const keys = { p256dh: b64(await crypto.subtle.exportKey("raw", pair.publicKey)), auth: b64(crypto.getRandomValues(new Uint8Array(16))) };
    const json = { endpoint: "http://127.0.0.1:9/push/" + crypto.randomUUID(), expirationTime: null, keys };
    set("current", { json, key });
    return fake({ json, key });
  };
})()`;

describe.skipIf(!haveChromium)("the page's push subscription, with a stand-in PushManager", () => {
  let s: TestServer;
  let b: View;
  let carol: Account;
  let key: string;
  const stub = (name: string) =>
    b.evaluate(`JSON.parse(sessionStorage.getItem("stub.${name}") ?? "null")`) as Promise<any>;
  const status = () =>
    b.evaluate(
      `(() => { const e = document.getElementById("push-status"); return e.hidden ? null : e.textContent; })()`,
    );
  const mine = async () =>
    Object.entries(await pushRows(s)).filter(([, r]) => r.session === sessionHash(carol.session));

  beforeAll(async () => {
    s = await startServer({ config: { pushAllowLoopback: true } });
    carol = await register(s.url, "carol");
    key = (await call(s.url, "GET", "/v1/push/key", { session: carol.session })).body.key;
    const room = await createRoom(s.url, carol, [await register(s.url, "dan")]);
    b = openView();
    await b.navigate(`${s.url}/`);
    await b.cdp("Page.addScriptToEvaluateOnNewDocument", { source: RECORDER });
    await b.cdp("Page.addScriptToEvaluateOnNewDocument", { source: STUB });
    await b.cdp("Browser.grantPermissions", { origin: s.url, permissions: ["notifications"] }); // allowed before
    await b.evaluate(`sessionStorage.setItem("stub.mode", '"reject"')`);
    await signIn(b, s.url, "127.0.0.1", carol.session, room);
  }, 30000);

  afterAll(async () => {
    b?.close();
    await s?.stop();
  });

  test("a push service that refuses: the page says so under the header, asks nothing, and registers nothing", async () => {
    expect(await until(b, `document.getElementById("push-status").textContent`)).toBe(
      "Notifications come only while echat is open: Registration failed - push service error",
    );
    expect(await stub("subscribed")).toEqual([key]); // subscribed with the server's VAPID key
    expect(await b.evaluate("window.__asked")).toBe(0);
    expect(await mine()).toEqual([]);
  }, 30000);

  test("with notifications allowed, a load subscribes silently and registers the subscription in its session", async () => {
    await b.evaluate(`sessionStorage.setItem("stub.mode", '"resolve"')`);
    await b.reload();
    const endpoint = (await until<any>(b, `JSON.parse(sessionStorage.getItem("stub.current"))`)).json.endpoint;
    await waitFor(async () => ((await mine()).length ? true : undefined), 10000, every(40));
    expect(await mine()).toMatchObject([[endpoint, { user: carol.id, session: sessionHash(carol.session) }]]);
    expect(await status()).toBeNull();
    expect(await b.evaluate("window.__asked")).toBe(0);
  }, 30000);

  test("the next load registers the browser's subscription again rather than making another", async () => {
    const endpoint = (await stub("current")).json.endpoint;
    await call(s.url, "DELETE", "/v1/push/subscriptions", { session: carol.session, body: { endpoint } });
    expect(await mine()).toEqual([]);
    await b.reload();
    await waitFor(async () => ((await mine()).length ? true : undefined), 10000, every(40));
    expect((await mine()).map(([e]) => e)).toEqual([endpoint]);
    expect(await stub("subscribed")).toHaveLength(2); // the refused one and the first: none more
  }, 30000);

  test("logging out removes the subscription on the server and in the browser, then the mirrored session", async () => {
    expect(await b.evaluate(SESSION_IN_DB)).toBe(carol.session);
    await b.click("#logout");
    await until(b, `!document.getElementById("auth").hidden`);
    expect(await mine()).toEqual([]);
    expect(await stub("current")).toBeNull();
    expect(await stub("unsubscribed")).toBe(1);
    expect(await b.evaluate(SESSION_IN_DB)).toBeNull();
    expectError(await call(s.url, "GET", "/v1/info", { session: carol.session }), 401, "unauthorized");
  }, 30000);
});

// The session the page mirrored into IndexedDB for the worker (null when there is none).
const SESSION_IN_DB = `new Promise((resolve) => {
  const open = indexedDB.open("echat", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("session");
  open.onsuccess = () => {
    const get = open.result.transaction("session").objectStore("session").get("current");
    get.onsuccess = () => (open.result.close(), resolve(get.result ?? null));
  };
})`;

// An http: address of this machine other than loopback is no secure context: no service worker there at all.
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

describe.skipIf(!haveChromium || !lanAddress)(`over plain http at ${lanAddress} (not a secure context)`, () => {
  let s: TestServer;
  let c: View;

  beforeAll(async () => {
    s = await startServer({ config: { host: lanAddress! } });
    c = openView();
  }, 30000);

  afterAll(async () => {
    c?.close();
    await s?.stop();
  });

  test("the page works, registers no service worker and mirrors no session", async () => {
    const erin = await register(s.url, "erin");
    const room = await createRoom(s.url, erin, [await register(s.url, "fred")]);
    expect(s.url).toBe(`http://${lanAddress}:${s.port}`);
    await signIn(c, s.url, lanAddress!, erin.session, room);
    expect(await c.evaluate("window.isSecureContext")).toBe(false);
    expect(await c.evaluate(`"serviceWorker" in navigator`)).toBe(false); // Chromium offers none here
    expect(await c.evaluate(`indexedDB.databases().then((l) => l.map((d) => d.name))`)).toEqual([]);
  }, 30000);
});
