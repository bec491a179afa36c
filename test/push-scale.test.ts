// Once per message per subscription, however many instances drain: each instance queues the messages it stored
// and every instance claims due rows, atomically (PostgreSQL: FOR UPDATE SKIP LOCKED), so no push goes out
// twice. On one instance, and on two sharing PostgreSQL through Redis and through LISTEN/NOTIFY.
import { expect, test } from "bun:test";
import { type Account, call } from "./support/http.ts";
import { onOneAndTwoInstances } from "./support/instances.ts";
import { PushService, type Subscriber } from "./support/push-service.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";
import { every, waitFor } from "./support/waiting.ts";

const push = new PushService();

async function metric(t: TestServer, series: string): Promise<number> {
  const body = (await call<string>(t.url, "GET", "/metrics")).body;
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

// Every push sent and none pending, on both instances (the same server twice on one instance).
async function settled(a: TestServer, b: TestServer, sent: number) {
  const servers = a === b ? [a] : [a, b];
  await waitFor(
    async () => {
      const counts = await Promise.all(servers.map((t) => metric(t, "echat_push_sent_total")));
      const queued = await Promise.all(servers.map((t) => metric(t, "echat_push_queue")));
      return counts.reduce((x, y) => x + y) >= sent && queued.every((q) => q === 0) ? true : undefined;
    },
    15000,
    every(50),
    () => `fewer than ${sent} pushes sent`,
  );
}

const key = (r: { endpoint: string; payload: any }) => `${r.endpoint} ${r.payload.message_id}`;

onOneAndTwoInstances(
  (servers, newUser) => {
    test("many rooms with news on both instances at once: each subscription is pushed each message once", async () => {
      const { a, b } = servers();
      const sent0 =
        (await metric(a, "echat_push_sent_total")) + (a === b ? 0 : await metric(b, "echat_push_sent_total"));
      const ann = await newUser("ann");
      const rooms: { room: number; sub: Subscriber; who: Account }[] = [];
      for (let i = 0; i < 30; i++) {
        const who = await newUser("away");
        const r = await call(a.url, "POST", "/v1/rooms", { session: ann.session, body: { users: [{ id: who.id }] } });
        rooms.push({ room: r.body.id, who, sub: await push.subscribe(i % 2 ? a.url : b.url, who) });
      }
      // ann's room sockets, half on each instance, all sending at once.
      const sockets = await Promise.all(rooms.map(({ room }, i) => Socket.open(chatUrl(i % 2 ? a : b, room, ann))));
      sockets.forEach((ws, i) => ws.send({ text: `to ${i}` }));
      const ids = await Promise.all(rooms.map(async (_, i) => (await push.nth(rooms[i]!.sub, 1, 10000)).payload));
      ids.forEach((p, i) => expect(p).toMatchObject({ room_id: rooms[i]!.room, text: `to ${i}` }));
      await settled(a, b, sent0 + rooms.length);
      for (const { sub } of rooms) expect(push.to(sub).length).toBe(1);
      await Promise.all(sockets.map((ws) => ws.close()));
    }, 30000);

    test("a group flooded from both instances: no subscription is pushed one message twice", async () => {
      const { a, b } = servers();
      const [ann, bea] = [await newUser("ann"), await newUser("bea")];
      const away = await Promise.all(Array.from({ length: 10 }, () => newUser("away")));
      const r = await call(a.url, "POST", "/v1/rooms", {
        session: ann.session,
        body: { name: "Flood", users: [bea, ...away].map((u) => ({ id: u.id })) },
      });
      const room = r.body.id as number;
      for (const u of away) {
        await call(a.url, "PUT", `/v1/rooms/${room}/settings`, { session: u.session, body: { notify: "all" } });
      }
      const subs = await Promise.all(away.map((u, i) => push.subscribe(i % 2 ? a.url : b.url, u)));
      const [onA, onB] = [await Socket.open(chatUrl(a, room, ann)), await Socket.open(chatUrl(b, room, bea))];
      for (let i = 0; i < 20; i++) (i % 2 ? onA : onB).send({ text: `flood ${i}` });
      const all = await onA.take(20, (f) => typeof f.text === "string" && f.text.startsWith("flood"));
      const newest = Math.max(...all.map((m) => m.id));
      await Promise.all(subs.map((x) => push.nth(x, 1, 10000)));
      // Newer messages wait for the gap between two pushes of a room to a subscription: both clocks move past it.
      for (const t of a === b ? [a] : [a, b]) t.clock.advance(5000);
      for (const x of subs) {
        await waitFor(() => push.to(x).find((p) => p.payload.message_id === newest), 10000, every(20));
      }
      const seen = push.received.filter((x) => subs.some((s) => s.endpoint === x.endpoint)).map(key);
      expect(new Set(seen).size).toBe(seen.length);
      await Promise.all([onA.close(), onB.close()]);
    }, 30000);
  },
  { pushAllowLoopback: true },
);

test("stops the push service", () => push.stop());
