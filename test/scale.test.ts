// Two instances on one PostgreSQL database, fanning out through Redis or through LISTEN/NOTIFY.
// Users on different instances chat; every socket sees every message once, in id order, without gaps.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, fanoutPaths } from "./support/postgres.ts";
import { startPair, stopPair } from "./support/instances.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";

for (const path of fanoutPaths()) {
  describe.skipIf(!path.enabled)(`two instances through ${path.name}`, () => {
    let a: TestServer, b: TestServer, databaseUrl: string;
    let alice: Account, bob: Account, carol: Account, dave: Account;
    beforeAll(async () => {
      ({ a, b, databaseUrl } = await startPair(path.redisUrl));
      [alice, bob, carol, dave] = (await Promise.all(
        ["alice", "bob", "carol", "dave"].map((l, i) => register(i % 2 ? b.url : a.url, l)),
      )) as [Account, Account, Account, Account];
    });
    afterAll(async () => {
      await stopPair({ a, b, databaseUrl });
    });

    test("a message sent on one instance reaches a member on the other, once", async () => {
      const room = await createRoom(a.url, alice, [bob]);
      const [sa, sb] = await Promise.all([Socket.open(chatUrl(a, room, alice)), Socket.open(chatUrl(b, room, bob))]);
      const [sent] = await sendAll(sa, ["hello from A"]);
      expect(await sb.next(isMessage)).toEqual(sent);
      const [reply] = await sendAll(sb, ["hello from B"]);
      expect(await sa.next(isMessage)).toEqual(reply);
      // Nothing more: no echo of an instance's own publication.
      await sendAll(sa, ["marker"]);
      expect((await sb.next(isMessage)).text).toBe("marker");
      expect(sb.inbox.filter(isMessage)).toEqual([]);
      await Promise.all([sa.close(), sb.close()]);
    });

    test("a message of the longest length crosses too (over NOTIFY's 8000 bytes it goes by id and is read back)", async () => {
      const room = await createRoom(a.url, alice, [dave]);
      const [sa, sd] = await Promise.all([Socket.open(chatUrl(a, room, alice)), Socket.open(chatUrl(b, room, dave))]);
      const [long] = await sendAll(sa, ["ж".repeat(4000)]); // 8000 bytes of UTF-8
      const [short] = await sendAll(sa, ["after it"]);
      expect(await sd.take(2, isMessage)).toEqual([long, short]);
      await Promise.all([sa.close(), sd.close()]);
    });

    test("both instances sending at once: every socket gets every message in id order, no gap, no duplicate", async () => {
      const room = await createRoom(a.url, alice, [bob, carol, dave]);
      const watchers = await Promise.all([Socket.open(chatUrl(a, room, carol)), Socket.open(chatUrl(b, room, dave))]);
      const [sa, sb] = await Promise.all([Socket.open(chatUrl(a, room, alice)), Socket.open(chatUrl(b, room, bob))]);
      const texts = Array.from({ length: 100 }, (_, i) => `n${i}`);
      const [acksA, acksB] = await Promise.all([sendAll(sa, texts), sendAll(sb, texts)]);
      const history = await call(a.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: alice.session });
      const ids = history.body.map((m: any) => m.id);
      expect(ids).toHaveLength(200);
      for (const w of watchers) expect((await w.take(200, isMessage)).map((m) => m.id)).toEqual(ids);
      // Each sender's own acks were taken by sendAll; what is left is the other's, in order.
      const others = (acks: any[]) => ids.filter((id: number) => !acks.some((m) => m.id === id));
      expect((await sa.take(100, isMessage)).map((m) => m.id)).toEqual(others(acksA));
      expect((await sb.take(100, isMessage)).map((m) => m.id)).toEqual(others(acksB));
      await Promise.all([...watchers, sa, sb].map((s) => s.close()));
    });

    test("resuming on the other instance with after= gets what was sent meanwhile, then live", async () => {
      const room = await createRoom(b.url, bob, [alice]);
      const sa = await Socket.open(chatUrl(a, room, alice));
      const [seen] = await sendAll(sa, ["seen"]);
      const missed = await sendAll(sa, ["missed 1", "missed 2"]);
      const sb = await Socket.open(chatUrl(b, room, bob, { after: seen.id }));
      expect(await sb.take(2, isMessage)).toEqual(missed);
      const [live] = await sendAll(sa, ["live"]);
      expect(await sb.next(isMessage)).toEqual(live);
      await Promise.all([sa.close(), sb.close()]);
    });

    test("login guesses are counted across instances, not once per instance", async () => {
      const limitsDb = await freshDatabase();
      const options = { databaseUrl: limitsDb, redisUrl: path.redisUrl, limits: true, loginFailsPerLogin: 4 };
      const [la, lb] = await Promise.all([startServer({ config: options }), startServer({ config: options })]);
      try {
        await register(la.url, "victim");
        const guess = (s: TestServer) =>
          call(s.url, "POST", "/v1/login", { body: { login: "VICTIM", password: "wrong-password" } });
        // 4 failed logins per login per minute for the whole deployment, wherever they land.
        for (let i = 0; i < 4; i++) expectError(await guess(i % 2 ? la : lb), 422, "wrong_credentials");
        expectError(await guess(la), 429, "rate_limited");
        expectError(await guess(lb), 429, "rate_limited");
      } finally {
        await Promise.all([la.stop(), lb.stop()]);
        await dropDatabase(limitsDb);
      }
    });

    test("a logout or a password change on one instance closes the sockets on the other with 4001", async () => {
      const room = await createRoom(a.url, alice, [bob]);
      const other = (await call(b.url, "POST", "/v1/login", { body: { login: "bob", password: "password123" } })).body
        .session_id;
      const onB = await Socket.open(chatUrl(b, room, bob));
      const otherOnB = await Socket.open(chatUrl(b, room, { ...bob, session: other }));
      expect((await call(a.url, "POST", "/v1/logout", { session: other })).status).toBe(200);
      expect(await otherOnB.closed).toEqual({ code: 4001, reason: "logged out" });
      const third = (await call(b.url, "POST", "/v1/login", { body: { login: "bob", password: "password123" } })).body
        .session_id;
      const thirdOnB = await Socket.open(chatUrl(b, room, { ...bob, session: third }));
      const changed = await call(a.url, "POST", "/v1/password", {
        session: bob.session,
        body: { old_password: "password123", new_password: "password456" },
      });
      expect(changed.status).toBe(200);
      expect(await thirdOnB.closed).toEqual({ code: 4001, reason: "logged out" });
      expect(onB.ws.readyState).toBe(WebSocket.OPEN); // the session that changed the password stays
      await onB.close();
    });

    test("typing, read and presence events cross instances", async () => {
      const room = await createRoom(a.url, carol, [dave]);
      // Presence is eventually consistent across instances: each side ends up showing both.
      const both = (f: any) => f.type === "presence" && f.online.length === 2;
      const sc = await Socket.open(chatUrl(a, room, carol, { events: "typing,presence,read" }));
      expect((await sc.next((f) => f.type === "presence")).online).toEqual([carol.id]);
      const sd = await Socket.open(chatUrl(b, room, dave, { events: "typing,presence,read" }));
      expect((await sc.next(both)).online.sort()).toEqual([carol.id, dave.id].sort());
      expect((await sd.next(both)).online.sort()).toEqual([carol.id, dave.id].sort());
      sd.send({ type: "typing" });
      expect(await sc.next((f) => f.type === "typing")).toEqual({ type: "typing", room_id: room, user_id: dave.id });
      const [m] = await sendAll(sc, ["read me"]);
      sd.send({ type: "read", message_id: m.id });
      expect(await sc.next((f) => f.type === "read")).toEqual({
        type: "read",
        room_id: room,
        user_id: dave.id,
        message_id: m.id,
      });
      await sd.close();
      expect((await sc.next((f) => f.type === "presence" && f.online.length === 1)).online).toEqual([carol.id]);
      await sc.close();
    });
  });
}
