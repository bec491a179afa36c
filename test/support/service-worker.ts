// A page's service worker, seen through Chromium's DevTools protocol: its registration id (what
// ServiceWorker.deliverPushMessage needs: a push as the browser's push service would hand it over) and
// expressions evaluated inside the worker itself (Target.attachToTarget, its messages carried on the page's session).
//
// Chromium loses a notification when getNotifications() runs while it is being shown (seen here: a page polling
// getNotifications every 20 ms during 30 pushes kept 27 of them; without the polling, all 30). So a push is waited
// for inside the worker (its showNotification settled, counted by a wrapper that calls the real one), and the
// notifications are read once after it.
import type { View } from "./browser.ts";
import { Changes, every, waitFor } from "./waiting.ts";

type Registration = { registrationId: string; scopeURL: string; isDeleted: boolean };
type Reply = { id: number; result?: { result: { value?: unknown }; exceptionDetails?: unknown }; error?: unknown };

export type Workers = Awaited<ReturnType<typeof watchWorkers>>;

// Call once per view, after its first navigation (CDP needs the session that makes).
export async function watchWorkers(view: View) {
  const registrations = new Map<string, string>(); // scope URL -> registration id
  const replies = new Map<number, Reply>();
  const changed = new Changes();
  view.addEventListener("ServiceWorker.workerRegistrationUpdated", (e: any) => {
    for (const r of e.data.registrations as Registration[])
      r.isDeleted ? registrations.delete(r.scopeURL) : registrations.set(r.scopeURL, r.registrationId);
    changed.notify();
  });
  view.addEventListener("Target.receivedMessageFromTarget", (e: any) => {
    const m = JSON.parse(e.data.message) as Reply;
    if (m.id) replies.set(m.id, m), changed.notify();
  });
  await view.cdp("ServiceWorker.enable");
  const attached = new Map<string, string>(); // worker target -> DevTools session
  let nextId = 0;

  const registrationId = (scope: string) =>
    waitFor(
      () => registrations.get(scope),
      10000,
      changed,
      () => `no service worker registered for ${scope}`,
    );

  // The running worker of the scope (started if it was stopped), attached once.
  async function session(scope: string): Promise<string> {
    await view.cdp("ServiceWorker.startWorker", { scopeURL: scope });
    const { targetInfos } = (await view.cdp("Target.getTargets")) as { targetInfos: any[] };
    const target = targetInfos.find((t) => t.type === "service_worker" && t.url.startsWith(scope));
    if (!target) throw new Error(`no running service worker for ${scope}`);
    if (!attached.has(target.targetId)) {
      const { sessionId } = (await view.cdp("Target.attachToTarget", { targetId: target.targetId })) as any;
      attached.set(target.targetId, sessionId);
    }
    return attached.get(target.targetId)!;
  }

  const api = {
    registrationId,
    // Delivers a push to the scope's worker as its push service would (the payload, decrypted), and waits
    // until the worker's showNotification for it has settled.
    async push(scope: string, payload: unknown) {
      const before = await api.evaluate<number>(scope, COUNT_SHOWN);
      const origin = new URL(scope).origin;
      const data = typeof payload === "string" ? payload : JSON.stringify(payload);
      await view.cdp("ServiceWorker.deliverPushMessage", { origin, registrationId: await registrationId(scope), data });
      const check = async () => ((await api.evaluate<number>(scope, COUNT_SHOWN)) > before ? true : undefined);
      await waitFor(check, 10000, every(40), () => `the worker showed no notification for ${data}`);
    },
    // The value of expression (awaited) in the worker's global scope.
    async evaluate<T = unknown>(scope: string, expression: string): Promise<T> {
      const sessionId = await session(scope);
      const id = ++nextId;
      const params = { expression, awaitPromise: true, returnByValue: true };
      const message = JSON.stringify({ id, method: "Runtime.evaluate", params });
      await view.cdp("Target.sendMessageToTarget", { sessionId, message });
      const reply = await waitFor(
        () => replies.get(id),
        10000,
        changed,
        () => `no answer from the worker to ${expression}`,
      );
      replies.delete(id);
      if (reply.error || reply.result?.exceptionDetails)
        throw new Error(
          `in the worker: ${expression}: ${JSON.stringify(reply.error ?? reply.result?.exceptionDetails)}`,
        );
      return reply.result?.result.value as T;
    },
  };
  return api;
}

// In the worker: the showNotification calls settled so far, counted from the first time this runs in it.
const COUNT_SHOWN = `(() => {
  if (self.__shown === undefined) {
    self.__shown = 0;
    const real = registration.showNotification.bind(registration);
    registration.showNotification = (...args) => real(...args).finally(() => self.__shown++);
  }
  return self.__shown;
})()`;

// The worker's notifications as the page sees them (ServiceWorkerRegistration.getNotifications).
export type Shown = { title: string; body: string; tag: string; data: unknown };
export const SHOWN = `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((l) =>
  l.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })))`;
