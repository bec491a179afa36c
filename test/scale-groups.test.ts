// Groups across two instances on one PostgreSQL database (through Redis and through LISTEN/NOTIFY):
// membership and room changes reach events=members sockets on both, in the room's order with the
// messages; a removed member's room sockets close with 4003 on both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, register, registerAll } from "./support/http.ts";
import { fanoutPaths } from "./support/postgres.ts";
import { startPair, stopPair } from "./support/instances.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, openStream, sendAll, Socket, streamUrl } from "./support/socket.ts";

for (const path of fanoutPaths()) {
  describe.skipIf(!path.enabled)(`groups on two instances through ${path.name}`, () => {
    let a: TestServer, b: TestServer, databaseUrl: string;
    let ann: Account, ben: Account, cat: Account;
    beforeAll(async () => {
      ({ a, b, databaseUrl } = await startPair(path.redisUrl));
      [ann, ben, cat] = await registerAll(a.url, ["ann", "ben", "cat"]);
    });
    afterAll(async () => {
      await stopPair({ a, b, databaseUrl });
    });

    const group = async (owner: Account, others: Account[]) =>
      (
        await call(a.url, "POST", "/v1/rooms", {
          session: owner.session,
          body: { name: "Both", users: others.map((u) => ({ id: u.id })) },
        })
      ).body.id as number;
    const open = (s: TestServer, room: number, who: Account, query: Record<string, string | number> = {}) =>
      Socket.open(chatUrl(s, room, who, { events: "members", ...query }));

    test("a member added on A and a rename on B are seen live on both, in the room's order", async () => {
      const room = await group(ann, [ben]);
      const [sa, sb] = await Promise.all([open(a, room, ann), open(b, room, ben)]);
      await call(a.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: cat.id }] } });
      await call(b.url, "PATCH", `/v1/rooms/${room}`, { session: ann.session, body: { name: "Renamed" } });
      for (const sock of [sa, sb]) {
        const [added, renamed] = await sock.take(2);
        expect(added).toMatchObject({ type: "members", room_id: room, seq: 2, added: [cat.id], by: ann.id });
        expect(renamed).toMatchObject({ type: "room", room_id: room, seq: 3, room: { name: "Renamed" } });
      }
      await Promise.all([sa.close(), sb.close()]);
    });

    test("messages on both and changes on both: every socket sees seq 2, 3, 4 … without a gap or a duplicate", async () => {
      const room = await group(ann, [ben, cat]);
      const watchers = await Promise.all([open(a, room, cat), open(b, room, cat)]);
      const [sa, sb] = await Promise.all([Socket.open(chatUrl(a, room, ann)), Socket.open(chatUrl(b, room, ben))]);
      const texts = Array.from({ length: 30 }, (_, i) => `n${i}`);
      const changes = (async () => {
        for (let i = 0; i < 10; i++) {
          const s = i % 2 ? a : b;
          await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: ann.session, body: { topic: `t${i}` } });
        }
      })();
      await Promise.all([sendAll(sa, texts), sendAll(sb, texts), changes]);
      const total = 60 + 10;
      for (const w of watchers) {
        const frames = await w.take(total);
        expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 2));
      }
      // Resuming on the other instance from the middle gets exactly the rest.
      const late = await open(b, room, cat, { after: 40 });
      expect((await late.take(total - 39)).map((f) => f.seq)).toEqual(
        Array.from({ length: total - 39 }, (_, i) => i + 41),
      );
      await Promise.all([...watchers, sa, sb, late].map((s) => s.close()));
    });

    const streamOn = async (t: TestServer, who: Account, rooms: Record<number, number>) => {
      const st = await openStream(streamUrl(t, who));
      await st.next(); // hello
      st.send({ type: "resume", rooms });
      const frames = [];
      for (let f = await st.next(); f.type !== "synced"; f = await st.next()) frames.push(f);
      return { st, frames };
    };

    test("a user added on A appears on B's stream, and the room's frames from A follow there", async () => {
      const dan = await register(b.url, `dan-${path.name.length}`);
      const room = await group(ann, []);
      const { st } = await streamOn(b, dan, {});
      await call(a.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: dan.id }] } });
      expect(await st.next()).toMatchObject({ type: "room", room_id: room, seq: 2 });
      const sa = await Socket.open(chatUrl(a, room, ann));
      const [m] = await sendAll(sa, ["from A"]);
      expect(await st.next()).toMatchObject({ type: "message", id: m.id, seq: 3 });
      await Promise.all([st.close(), sa.close()]);
    });

    test("a user added on A to a room whose members change is too large for the transport appears on B's stream", async () => {
      // 20 members with 64-letter Cyrillic logins (the users are in the event twice) and a topic of 1000
      // emoji: the members event passes NOTIFY's 8000 bytes.
      const abc = "абвгдежзиклмнопрстуфхцчшщ";
      const logins = Array.from({ length: 20 }, (_, i) => "ж".repeat(62) + abc[path.name.length % 25]! + abc[i]!);
      const crowd = await Promise.all(logins.map((login) => register(a.url, login)));
      const made = await call(a.url, "POST", "/v1/rooms", {
        session: ann.session,
        body: { name: "Crowd", topic: "🎉".repeat(1000), users: crowd.map((u) => ({ id: u.id })) },
      });
      const room = made.body.id as number;
      const eve = await register(b.url, `eve-${path.name.length}`);
      const { st } = await streamOn(b, eve, {});
      await call(a.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: eve.id }] } });
      const announced = await st.next();
      expect(announced).toMatchObject({ type: "room", room_id: room, seq: 2 });
      expect(announced.room.users).toHaveLength(22);
      await st.close();
    }, 20_000);

    test("a stream resumed on the other instance gets what was sent on both meanwhile, once, in order", async () => {
      const room = await group(ann, [ben]);
      const first = await streamOn(a, ben, {});
      const seq = first.frames.find((f) => f.room_id === room).seq;
      await first.st.close();
      await call(a.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: cat.id }] } });
      const [sa, sb] = await Promise.all([Socket.open(chatUrl(a, room, ann)), Socket.open(chatUrl(b, room, cat))]);
      await Promise.all([sendAll(sa, ["a1", "a2"]), sendAll(sb, ["b1", "b2"])]);
      const { st, frames } = await streamOn(b, ben, { [room]: seq });
      // B's fan-out may not have every frame from A yet: the rest follow synced, live, in order.
      const got = frames.filter((f) => f.room_id === room).map((f) => f.seq);
      while (got.length < 5) got.push((await st.next((f) => f.room_id === room)).seq);
      expect(got).toEqual([seq + 1, seq + 2, seq + 3, seq + 4, seq + 5]); // cat added, four messages
      await sendAll(sa, ["live"]);
      expect(await st.next((f) => f.room_id === room)).toMatchObject({ text: "live", seq: seq + got.length + 1 });
      await Promise.all([st.close(), sa.close(), sb.close()]);
    });

    test("a member removed through A has their room sockets closed with 4003 on A and on B", async () => {
      const room = await group(ann, [ben]);
      const onA = await Socket.open(chatUrl(a, room, ben));
      const onB = await open(b, room, ben);
      const owner = await open(b, room, ann);
      await call(a.url, "DELETE", `/v1/rooms/${room}/users/${ben.id}`, { session: ann.session });
      expect((await onA.closed).code).toBe(4003);
      expect((await onB.closed).code).toBe(4003);
      expect(await owner.next()).toMatchObject({ type: "members", removed: [ben.id] });
      await owner.close();
    });
  });
}
