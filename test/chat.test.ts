import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register, upgradeRequest, registerAll } from "./support/http.ts";
import { messageIds, RawSocket } from "./support/raw-socket.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";

let s: TestServer;
let alice: Account, bob: Account, carol: Account, eve: Account;
let room: number;

beforeAll(async () => {
  s = await startServer();
  [alice, bob, carol, eve] = await registerAll(s.url, ["alice", "bob", "carol", "eve"]);
  room = await createRoom(s.url, alice, [bob, carol]);
});
afterAll(() => s.stop());

describe("connecting", () => {
  test("refusals come before the upgrade, as JSON errors", async () => {
    expectError(await upgradeRequest(`${s.wsUrl}/v1/rooms/${room}/chat`), 401, "unauthorized");
    expectError(
      await upgradeRequest(`${s.wsUrl}/v1/rooms/${room}/chat?session_id=${"0".repeat(40)}`),
      401,
      "unauthorized",
    );
    expectError(await upgradeRequest(chatUrl(s, room, eve)), 422, "room_not_found");
    expectError(await upgradeRequest(chatUrl(s, 987654, alice)), 422, "room_not_found");
    expectError(
      await upgradeRequest(`${s.wsUrl}/v1/rooms/abc/chat?session_id=${alice.session}`),
      422,
      "room_not_found",
    );
    expectError(await upgradeRequest(chatUrl(s, room, alice, { after: "-1" })), 422, "invalid_query");
    expectError(await upgradeRequest(chatUrl(s, room, alice, { events: "typing,gossip" })), 422, "invalid_query");
  });

  test("the session may come in a header instead of the query", async () => {
    const url = `${s.wsUrl}/v1/rooms/${room}/chat`;
    expectError(await upgradeRequest(url, { "x-session-id": eve.session }), 422, "room_not_found");
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${alice.session}` } } as any);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  test("a plain GET without upgrade headers is upgrade_required", async () => {
    expectError(
      await call(s.url, "GET", `/v1/rooms/${room}/chat`, { session: alice.session }),
      426,
      "upgrade_required",
    );
  });

  test("a refused WebSocket client sees the connection fail", async () => {
    expect(Socket.open(chatUrl(s, room, eve))).rejects.toThrow("cannot connect");
  });
});

describe("sending and receiving", () => {
  test("every member receives the message, the sender too, in the REST shape", async () => {
    const [a, b, c] = await Promise.all([alice, bob, carol].map((u) => Socket.open(chatUrl(s, room, u))));
    a!.send({ text: "Привет" });
    const frames = await Promise.all([a!, b!, c!].map((x) => x.next(isMessage)));
    for (const f of frames) {
      expect(f).toEqual({
        id: expect.any(Number),
        text: "Привет",
        user_id: alice.id,
        room_id: room,
        created_at: expect.stringMatching(/Z$/),
        seq: expect.any(Number),
      });
    }
    expect(new Set(frames.map((f) => f.id)).size).toBe(1);
    await Promise.all([a!, b!, c!].map((x) => x.close()));
  });

  test("bad frames get an error and the socket keeps working", async () => {
    const a = await Socket.open(chatUrl(s, room, alice));
    const cases: Array<[unknown, string]> = [
      ["not json", "invalid_json"],
      ["[1,2]", "invalid_json"],
      ["null", "invalid_json"],
      [{ text: "x", client_id: 5 }, "invalid_json"],
      [{ text: "x", client_id: "c".repeat(65) }, "invalid_json"],
      [{ text: "" }, "invalid_text"],
      [{ text: " \n\t " }, "invalid_text"],
      [{ text: 42 }, "invalid_text"],
      [{}, "invalid_text"],
      [{ text: "😀".repeat(4001) }, "invalid_text"],
      // A lone surrogate cannot be stored as UTF-8; a text needs a visible character (docs/api.md).
      [{ text: "a\ud800b" }, "invalid_text"],
      [{ text: "\udc00" }, "invalid_text"],
      [{ text: "x", client_id: "c\ud800" }, "invalid_json"],
      [{ text: "\u200b\u2060\ufeff" }, "invalid_text"],
      [{ text: "\u202e \u200f\u00ad" }, "invalid_text"],
      [{ text: "\u3164\u115f\u2800\u3000" }, "invalid_text"],
      [{ text: "\ufe0f\u0000\u0085" }, "invalid_text"],
      [{ type: "dance" }, "unknown_type"],
      [{ type: "read", message_id: "x" }, "invalid_json"],
    ];
    for (const [frame, code] of cases) {
      a.send(frame);
      expect((await a.next((f) => f.error)).error.code).toBe(code);
    }
    a.send({ text: "\u200bhi\u200b", client_id: "zero-width-around" });
    expect((await a.next(isMessage)).text).toBe("\u200bhi\u200b");
    a.send({ text: "😀".repeat(4000), client_id: "long" });
    expect((await a.next(isMessage)).client_id).toBe("long");
    a.send({ text: "x".repeat(5000), client_id: "too-long" });
    expect(await a.next((f) => f.error)).toMatchObject({ error: { code: "invalid_text" }, client_id: "too-long" });
    await a.close();
  });

  test("a frame over 64 KiB closes the socket with 1009", async () => {
    const a = await Socket.open(chatUrl(s, room, alice));
    a.send({ text: "x".repeat(70 * 1024) });
    expect((await a.closed).code).toBe(1009);
  });

  test("a retried client_id is stored once and acked with the stored message", async () => {
    const a = await Socket.open(chatUrl(s, room, alice));
    const b = await Socket.open(chatUrl(s, room, bob));
    a.send({ text: "once", client_id: "retry-1" });
    const first = await a.next((f) => f.client_id === "retry-1");
    await a.close();
    const again = await Socket.open(chatUrl(s, room, alice));
    again.send({ text: "once", client_id: "retry-1" });
    const second = await again.next((f) => f.client_id === "retry-1");
    expect(second).toEqual(first);
    again.send({ text: "marker" });
    await b.next((f) => f.text === "marker");
    expect(b.inbox.filter((f) => f.client_id === "retry-1").length).toBe(1); // the others saw it once
    const history = (await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: bob.session })).body;
    expect(history.filter((m: any) => m.client_id === "retry-1").length).toBe(1);
    // the same client_id from another user is a different message
    const c = await Socket.open(chatUrl(s, room, carol));
    c.send({ text: "mine", client_id: "retry-1" });
    expect((await c.next((f) => f.client_id === "retry-1")).id).not.toBe(first.id);
    await Promise.all([b.close(), again.close(), c.close()]);
  });

  test("a burst of 200 from 3 senders arrives in one order everywhere, the order of history", async () => {
    const burstRoom = await createRoom(s.url, alice, [bob, carol, eve]);
    const users = [alice, bob, carol, eve];
    const socks = await Promise.all(users.map((u) => Socket.open(chatUrl(s, burstRoom, u))));
    for (let i = 0; i < 200; i++) socks[i % 3]!.send({ text: `burst ${i}` });
    const seen = await Promise.all(socks.map((x) => x.take(200, isMessage)));
    const ids = seen[0]!.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    for (const other of seen.slice(1)) expect(other.map((m) => m.id)).toEqual(ids);
    const history = (await call(s.url, "GET", `/v1/rooms/${burstRoom}/messages?limit=200`, { session: eve.session }))
      .body;
    expect(history.map((m: any) => m.id)).toEqual(ids);
    await Promise.all(socks.map((x) => x.close()));
  });
});

describe("resume", () => {
  test("?after= replays what was missed, then live, with no gap and no duplicate while others send", async () => {
    const r = await createRoom(s.url, alice, [bob]);
    const a = await Socket.open(chatUrl(s, r, alice));
    const acked = await sendAll(
      a,
      Array.from({ length: 100 }, (_, i) => `before ${i}`),
    );
    const lastSeen = acked[29].id; // bob saw up to here
    const sending = sendAll(
      a,
      Array.from({ length: 200 }, (_, i) => `during ${i}`),
    ); // goes on while bob resumes
    const b = await Socket.open(chatUrl(s, r, bob, { after: lastSeen }));
    const during = await sending;
    const all = await b.take(70 + 200, isMessage);
    expect(all.map((m) => m.id)).toEqual([...acked.slice(30), ...during].map((m) => m.id));
    a.send({ text: "after all" });
    expect((await b.next(isMessage)).text).toBe("after all");
    expect(b.inbox.filter(isMessage)).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  test("more than 1000 missed gives a resync frame instead of a backlog, then live messages", async () => {
    const r = await createRoom(s.url, alice, [carol]);
    const a = await Socket.open(chatUrl(s, r, alice));
    await sendAll(
      a,
      Array.from({ length: 1001 }, (_, i) => `m${i}`),
    );
    const c = await Socket.open(chatUrl(s, r, carol, { after: 0 }));
    expect(await c.next()).toEqual({ type: "resync", room_id: r });
    a.send({ text: "live" });
    expect((await c.next()).text).toBe("live");
    await Promise.all([a.close(), c.close()]);
    // exactly 1000 missed is still a backlog
    const c2 = await Socket.open(
      chatUrl(s, r, carol, {
        after:
          1 +
          (await call(s.url, "GET", `/v1/rooms/${r}/messages?after=0&limit=1`, { session: carol.session })).body[0].id,
      }),
    );
    const backlog = await c2.take(1000, isMessage);
    expect(backlog.at(-1).text).toBe("live");
    await c2.close();
  });
});

describe("sessions", () => {
  test("logging out closes that session's sockets with 4001, and only those", async () => {
    const second = await call(s.url, "POST", "/v1/login", { body: { login: "bob", password: "password123" } });
    const other = { ...bob, session: second.body.session_id };
    const kicked = await Socket.open(chatUrl(s, room, other));
    const kept = await Socket.open(chatUrl(s, room, bob));
    await call(s.url, "POST", "/v1/logout", { session: other.session });
    expect(await kicked.closed).toEqual({ code: 4001, reason: "logged out" });
    kept.send({ text: "still here" });
    expect((await kept.next(isMessage)).text).toBe("still here");
    await kept.close();
  });
});

describe("opt-in events", () => {
  test("presence: opted-in clients get the online list on connect and disconnect; others never do", async () => {
    const r = await createRoom(s.url, alice, [bob, carol]);
    const byId = (...who: Account[]) => who.map((u) => u.id).sort((x, y) => x - y); // the list is sorted by id
    const a = await Socket.open(chatUrl(s, r, alice, { events: "presence" }));
    expect(await a.next()).toEqual({ type: "presence", room_id: r, online: [alice.id] });
    const plain = await Socket.open(chatUrl(s, r, carol));
    expect(await a.next()).toEqual({ type: "presence", room_id: r, online: byId(alice, carol) });
    const b = await Socket.open(chatUrl(s, r, bob, { events: "presence,typing" }));
    const all = byId(alice, carol, bob); // by id, not by arrival
    expect(await b.next()).toEqual({ type: "presence", room_id: r, online: all });
    expect(await a.next()).toEqual({ type: "presence", room_id: r, online: all });
    await plain.close();
    expect(await a.next()).toEqual({ type: "presence", room_id: r, online: byId(alice, bob) });
    // opted-in clients get messages typed; plain ones untyped
    a.send({ text: "typed?" });
    expect(await b.next((f) => f.text === "typed?")).toMatchObject({ type: "message", text: "typed?" });
    const p2 = await Socket.open(chatUrl(s, r, carol));
    a.send({ text: "plain" });
    const got = await p2.next();
    expect(got.type).toBeUndefined();
    expect(got.text).toBe("plain");
    await Promise.all([a.close(), b.close(), p2.close()]);
    expect(p2.inbox.some((f) => f.type)).toBe(false);
  });

  test("typing reaches opted-in members, not the sender, at most once per 2 s per user", async () => {
    const r = await createRoom(s.url, alice, [bob, carol]);
    const a = await Socket.open(chatUrl(s, r, alice, { events: "typing" }));
    const b = await Socket.open(chatUrl(s, r, bob, { events: "typing" }));
    const c = await Socket.open(chatUrl(s, r, carol));
    a.send({ type: "typing" });
    a.send({ type: "typing" });
    expect(await b.next()).toEqual({ type: "typing", room_id: r, user_id: alice.id });
    a.send({ text: "fence" });
    await b.next((f) => f.text === "fence");
    expect(b.inbox.filter((f) => f.type === "typing")).toEqual([]); // the second was within 2 s
    s.clock.advance(2001);
    a.send({ type: "typing" });
    expect(await b.next()).toEqual({ type: "typing", room_id: r, user_id: alice.id });
    await c.next((f) => f.text === "fence");
    expect(c.inbox).toEqual([]);
    expect(a.inbox.filter((f) => f.type === "typing")).toEqual([]);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  test("read markers never move back, are broadcast to opted-in members, and drive unread counts", async () => {
    const r = await createRoom(s.url, bob, [carol]);
    const b = await Socket.open(chatUrl(s, r, bob, { events: "read" }));
    const c = await Socket.open(chatUrl(s, r, carol));
    const mine = await sendAll(c, ["one", "two", "three"]);
    const [own] = await sendAll(b, ["own message"]);
    const unread = async (who: Account) =>
      (await call(s.url, "GET", "/v1/rooms", { session: who.session })).body.find((x: any) => x.id === r).unread;
    expect(await unread(bob)).toBe(3); // bob's own message does not count
    expect(await unread(carol)).toBe(1);
    c.send({ type: "read", message_id: mine[2].id + 10 }); // past the end: clamped to the newest message
    c.send({ type: "read", message_id: mine[0].id }); // backwards: writes nothing, announces nothing
    expect(await b.next((f) => f.type === "read")).toEqual({
      type: "read",
      room_id: r,
      user_id: carol.id,
      message_id: own.id,
    });
    expect(await unread(carol)).toBe(0);
    b.send({ type: "read", message_id: mine[1].id });
    await b.next((f) => f.type === "read" && f.user_id === bob.id);
    expect(await unread(bob)).toBe(1);
    expect(b.inbox.filter((f) => f.type === "read")).toEqual([]); // carol's backwards marker was not announced
    expect(c.inbox.some((f) => f.type)).toBe(false);
    await Promise.all([b.close(), c.close()]);
  });
});

describe("slow consumers", () => {
  test("a socket that stops reading is closed with 1013 after everything queued before it", async () => {
    const r = await createRoom(s.url, alice, [carol]);
    // A raw client that pauses reading right after the handshake.
    const raw = await RawSocket.open(chatUrl(s, r, carol), { paused: true });
    const byId = (...who: Account[]) => who.map((u) => u.id).sort((x, y) => x - y); // the list is sorted by id
    const a = await Socket.open(chatUrl(s, r, alice, { events: "presence" }));
    await a.next((f) => f.type === "presence" && f.online.length === 2);
    const big = "ж".repeat(4000); // 8 KB in UTF-8
    // ~8 MB to a reader that does not read, in batches so that the sender itself reads its acks in time
    const acks: any[] = [];
    for (let i = 0; i < 50; i++)
      acks.push(
        ...(await sendAll(
          a,
          Array.from({ length: 20 }, () => big),
        )),
      );
    await a.next((f) => f.type === "presence" && f.online.length === 1); // the server let go of carol
    const later = await sendAll(a, ["after the close"]);
    raw.tcp.resume();
    await raw.ended;
    const frames = raw.frames();
    const close = frames.at(-1)!;
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1013);
    const ids = messageIds(frames);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).toEqual(acks.slice(0, ids.length).map((m) => m.id)); // a prefix: no gap before the close
    expect(ids).not.toContain(later[0].id);
    await a.close();
  }, 30000);
});

describe("idle connections", () => {
  test("the server pings: a client that answers stays, a peer that never answers is dropped", async () => {
    const t = await startServer({ config: { wsIdleTimeout: 8 } }); // Bun's shortest idle timeout
    try {
      const [u, v] = [await register(t.url, "pinged"), await register(t.url, "silent")];
      const r = await createRoom(t.url, u, [v]);
      const live = await Socket.open(chatUrl(t, r, u)); // Bun's client answers pings by itself
      const raw = await RawSocket.open(chatUrl(t, r, v));
      await raw.ended; // never answers a ping
      expect(raw.bytes.toString("latin1")).toStartWith("HTTP/1.1 101");
      const frames = raw.frames();
      expect(frames.some((f) => f.opcode === 9)).toBe(true); // it was pinged first
      live.send({ text: "still here after the silent one was dropped" });
      expect((await live.next(isMessage)).text).toBe("still here after the silent one was dropped");
      await live.close();
    } finally {
      await t.stop();
    }
  }, 40000);
});
