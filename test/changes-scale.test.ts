// Message changes across two instances on one PostgreSQL database (through Redis and through LISTEN/NOTIFY):
// an edit, a reaction and a delete made on one instance reach a user stream and an events=changes socket on
// the other, in the room's order with the messages; an edit too large for NOTIFY is read from the store; and a
// stream resuming on either instance while changes are made on both gets them all, once, in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, registerAll } from "./support/http.ts";
import { ChangingRoom, Copy, historyOf } from "./support/changes.ts";
import { fanoutPaths } from "./support/postgres.ts";
import { prng } from "./support/prng.ts";
import { startPair, stopPair } from "./support/instances.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, openStream, sendAll, Socket, streamUrl } from "./support/socket.ts";

for (const path of fanoutPaths()) {
  describe.skipIf(!path.enabled)(`message changes on two instances through ${path.name}`, () => {
    let a: TestServer, b: TestServer, databaseUrl: string;
    let ann: Account, ben: Account, cat: Account;
    beforeAll(async () => {
      ({ a, b, databaseUrl } = await startPair(path.redisUrl));
      [ann, ben, cat] = await registerAll(a.url, ["ann", "ben", "cat"]);
    });
    afterAll(async () => {
      await stopPair({ a, b, databaseUrl });
    });

    test("changes made on A reach B's stream and events=changes socket in order, once", async () => {
      const g = await call(a.url, "POST", "/v1/rooms", {
        session: ann.session,
        body: { name: "Both", users: [{ id: ben.id }] },
      });
      const room = g.body.id as number;
      const st = await openStream(streamUrl(b, ben));
      await st.next((f) => f.type === "hello");
      st.send({ type: "resume", rooms: { [room]: 1 } });
      await st.next((f) => f.type === "synced");
      const ws = await Socket.open(chatUrl(b, room, ben, { events: "changes" }));
      const sender = await Socket.open(chatUrl(a, room, ann));
      const at = (id: number) => `/v1/rooms/${room}/messages/${id}`;
      const [m1, m2] = await sendAll(sender, ["one", "two"]);
      await call(a.url, "PATCH", at(m1.id), { session: ann.session, body: { text: "one, edited" } });
      await call(a.url, "PUT", `${at(m2.id)}/reactions/${encodeURIComponent("👍")}`, { session: ann.session });
      await call(a.url, "PATCH", at(m2.id), { session: ann.session, body: { text: "é".repeat(3000) } }); // > NOTIFY
      await call(a.url, "DELETE", at(m1.id), { session: ann.session });
      const [m3] = await sendAll(sender, ["three"]);
      const expected = [
        ["message", 2],
        ["message", 3],
        ["edit", 4],
        ["reaction", 5],
        ["edit", 6],
        ["delete", 7],
        ["message", 8],
      ];
      for (const sock of [st, ws]) {
        const frames = await sock.take(7, (f) => f.room_id === room);
        expect(frames.map((f) => [f.type, f.seq])).toEqual(expected);
        expect(frames[2].message.text).toBe("one, edited");
        expect(frames[4].message.text).toBe("é".repeat(3000));
        expect(frames[6].id).toBe(m3.id);
      }
      await Promise.all([st.close(), ws.close(), sender.close()]);
    });

    test("a stream resuming on either instance while changes are made on both ends equal to REST history", async () => {
      const r = prng(7);
      const servers = [a, b];
      const g = await call(a.url, "POST", "/v1/rooms", {
        session: ann.session,
        body: { name: "Either", users: [{ id: ben.id }, { id: cat.id }] },
      });
      const id = g.body.id as number;
      const senders = [
        { who: ann, sock: await Socket.open(chatUrl(a, id, ann)) },
        { who: cat, sock: await Socket.open(chatUrl(b, id, cat)) },
      ];
      const room = new ChangingRoom(id, senders, [ann, ben, cat]);
      const copy = new Copy(1);
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 8; i++) await room.change(r, r.pick(servers).url);
        const st = await openStream(streamUrl(r.pick(servers), ben));
        await st.next((f) => f.type === "hello");
        st.send({ type: "resume", rooms: { [id]: copy.seq } });
        const during = (async () => {
          for (let i = 0; i < 3; i++) await room.change(r, r.pick(servers).url);
        })();
        for (let f = await st.next(); f.type !== "synced"; f = await st.next()) if (f.room_id === id) copy.apply(f);
        await during;
        const { seq } = (await call(a.url, "GET", `/v1/rooms/${id}`, { session: ben.session })).body;
        while (copy.seq < seq) copy.apply(await st.next((f) => f.room_id === id));
        await st.close();
      }
      expect(copy.messages).toEqual(await historyOf(a.url, id, ben));
      for (const { sock } of senders) sock.close();
    }, 30_000);
  });
}
