// Replies: a send with "reply_to" answers a live message of the same room and carries reply_to wherever the
// message goes (the ack, the other members' sockets and streams, history, the room list's last_message);
// an unknown id or another room's message is refused with message_not_found, carrying the client_id, and
// nothing is stored. A bad reply_to is invalid_json. Retries stay idempotent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, EchatClient } from "../client/index.ts";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { answerTo, chatUrl, openStream, Socket, streamUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account, cy: Account;
let room: number, other: number;
beforeAll(async () => {
  s = await startServer();
  [ann, ben, cy] = await registerAll(s.url, ["ann", "ben", "cy"]);
  room = await createRoom(s.url, ann, [ben]);
  other = await createRoom(s.url, ann, [cy]);
});
afterAll(() => s.stop());

const history = async (r = room, who = ann) =>
  (await call(s.url, "GET", `/v1/rooms/${r}/messages?limit=200`, { session: who.session })).body as any[];

// One frame sent on a fresh room socket and its answer (a message or an error frame).
const sendOne = (frame: object, r = room, who = ann) => answerTo(chatUrl(s, r, who), frame);

describe("replies on a room socket", () => {
  test("a reply is stored and delivered with reply_to: the ack, the other member, history, the room list", async () => {
    const original = await sendOne({ text: "lunch?", client_id: "q1" });
    const bs = await Socket.open(chatUrl(s, room, ben));
    const as = await Socket.open(chatUrl(s, room, ann));
    as.send({ text: "yes, at noon", client_id: "a1", reply_to: original.id });
    const ack = await as.next((f) => f.client_id === "a1");
    expect(ack).toMatchObject({ text: "yes, at noon", reply_to: original.id, room_id: room, user_id: ann.id });
    expect(await bs.next((f) => f.client_id === "a1")).toEqual(ack);
    expect((await history()).at(-1)).toEqual(ack);
    const rooms = (await call(s.url, "GET", "/v1/rooms", { session: ben.session })).body as any[];
    expect(rooms.find((r) => r.id === room).last_message).toEqual(ack);
    expect(original.reply_to).toBeUndefined(); // absent when it answers nothing
    await Promise.all([as.close(), bs.close()]);
  });

  test("a reply to a reply, and a reply to another member's message, are fine", async () => {
    const first = await sendOne({ text: "ben's question" }, room, ben);
    const second = await sendOne({ text: "ann answers", reply_to: first.id });
    const third = await sendOne({ text: "ben answers back", reply_to: second.id }, room, ben);
    expect([second.reply_to, third.reply_to]).toEqual([first.id, second.id]);
  });

  test("an unknown id is message_not_found with the client_id, and nothing is stored", async () => {
    const before = await history();
    const answer = await sendOne({ text: "to nothing", client_id: "lost-1", reply_to: 999_999 });
    expect(answer).toEqual({
      error: { code: "message_not_found", message: expect.any(String) },
      client_id: "lost-1",
    });
    expect(await history()).toEqual(before);
  });

  test("a deleted message is message_not_found; a retry of a reply stored before it was deleted still answers", async () => {
    const target = await sendOne({ text: "soon deleted" }, room, ben);
    const reply = await sendOne({ text: "a reply in time", client_id: "in-time", reply_to: target.id });
    const gone = await call(s.url, "DELETE", `/v1/rooms/${room}/messages/${target.id}`, { session: ben.session });
    expect(gone.status).toBe(200);
    const before = await history();
    const late = await sendOne({ text: "too late", client_id: "late", reply_to: target.id });
    expect(late).toEqual({ error: { code: "message_not_found", message: expect.any(String) }, client_id: "late" });
    expect(await history()).toEqual(before);
    expect(await sendOne({ text: "a reply in time", client_id: "in-time", reply_to: target.id })).toEqual(reply);
  });

  test("another room's message is message_not_found, and neither room stores anything", async () => {
    const elsewhere = await sendOne({ text: "in the other room" }, other);
    const [before, beforeOther] = [await history(), await history(other)];
    const answer = await sendOne({ text: "cross-room", client_id: "cross", reply_to: elsewhere.id });
    expect(answer.error.code).toBe("message_not_found");
    expect(answer.client_id).toBe("cross");
    expect([await history(), await history(other)]).toEqual([before, beforeOther]);
  });

  test("without a client_id the error frame has none", async () => {
    expect(await sendOne({ text: "no id", reply_to: 888_888 })).toEqual({
      error: { code: "message_not_found", message: expect.any(String) },
    });
  });

  test.each([
    ["zero", 0],
    ["negative", -3],
    ["fractional", 1.5],
    ["a string", "1"],
    ["a boolean", true],
    ["an object", { id: 1 }],
    ["too large", 2 ** 60],
  ])("a reply_to that is %s is invalid_json with the client_id, nothing stored", async (_, replyTo) => {
    const before = await history();
    const answer = await sendOne({ text: "bad reply", client_id: "bad", reply_to: replyTo });
    expect(answer.error.code).toBe("invalid_json");
    expect(answer.client_id).toBe("bad");
    expect(await history()).toEqual(before);
  });

  test("a null reply_to is no reply", async () => {
    const m = await sendOne({ text: "plain", reply_to: null });
    expect(m.reply_to).toBeUndefined();
  });

  test("a retried reply gets the stored message back and is stored once", async () => {
    const target = await sendOne({ text: "target" });
    const frame = { text: "retried reply", client_id: "retry-r", reply_to: target.id };
    const first = await sendOne(frame);
    expect(await sendOne(frame)).toEqual(first);
    expect((await history()).filter((m) => m.client_id === "retry-r")).toEqual([first]);
  });

  test("replies sent at once in one batch each carry their own reply_to; a bad one refuses only itself", async () => {
    const a = await sendOne({ text: "a" });
    const b = await sendOne({ text: "b" });
    const sock = await Socket.open(chatUrl(s, room, ann));
    sock.send({ text: "to a", client_id: "ba", reply_to: a.id });
    sock.send({ text: "to nothing", client_id: "bx", reply_to: 777_777 });
    sock.send({ text: "to b", client_id: "bb", reply_to: b.id });
    const [ra, rx, rb] = [
      await sock.next((f) => f.client_id === "ba"),
      await sock.next((f) => f.client_id === "bx"),
      await sock.next((f) => f.client_id === "bb"),
    ];
    expect([ra.reply_to, rx.error.code, rb.reply_to]).toEqual([a.id, "message_not_found", b.id]);
    expect(rb.seq).toBe(ra.seq + 1); // the refused one took no seq
    await sock.close();
  });
});

describe("replies on the user stream", () => {
  async function liveStream(who: Account) {
    const st = await openStream(streamUrl(s, who));
    await st.next((f) => f.type === "hello");
    st.send({ type: "resume", rooms: {} });
    await st.next((f) => f.type === "synced");
    return st;
  }

  test("a reply sent on the stream is stored and delivered with reply_to", async () => {
    const target = await sendOne({ text: "stream target" }, room, ben);
    const [st, bs] = [await liveStream(ann), await Socket.open(chatUrl(s, room, ben))];
    st.send({ type: "message", room_id: room, text: "from the stream", client_id: "st-1", reply_to: target.id });
    const ack = await st.next((f) => f.client_id === "st-1");
    expect(ack).toMatchObject({ type: "message", room_id: room, reply_to: target.id });
    expect(await bs.next((f) => f.client_id === "st-1")).toMatchObject({ reply_to: target.id });
    await Promise.all([st.close(), bs.close()]);
  });

  test("a stream reply to another room's message is message_not_found with the client_id", async () => {
    const elsewhere = await sendOne({ text: "other room again" }, other);
    const before = await history();
    const st = await liveStream(ann);
    st.send({ type: "message", room_id: room, text: "wrong room", client_id: "st-x", reply_to: elsewhere.id });
    const answer = await st.next((f) => f.client_id === "st-x");
    expect(answer).toEqual({
      error: { code: "message_not_found", message: expect.any(String) },
      client_id: "st-x",
    });
    expect(await history()).toEqual(before);
    await st.close();
  });
});

describe("replies with the typed client", () => {
  async function client(who: Account) {
    const c = new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url });
    await c.login(who.login, "password123");
    return c;
  }

  test("RoomSocket.send and UserStream.send take replyTo; message_not_found rejects the send", async () => {
    const [a, b] = [await client(ann), await client(ben)];
    const target = await sendOne({ text: "client target" }, room, ben);
    const sock = a.roomSocket(room);
    const reply = await sock.send("client reply", { replyTo: target.id });
    expect(reply.reply_to).toBe(target.id);
    const refused = await sock.send("client miss", { replyTo: 666_666 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe("message_not_found");
    const stream = b.stream();
    const viaStream = await stream.send(room, "stream reply", { replyTo: reply.id });
    expect(viaStream.reply_to).toBe(reply.id);
    sock.close();
    stream.close();
  });
});
