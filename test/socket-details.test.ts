// Behaviours of the sockets docs/api.md states that no other file pins: binary frames are read as text, the
// sender's own sockets hear its read event, presence lists are sorted by user id on every instance, and a
// bad frame's error message speaks of a frame (the code is the same as over HTTP).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, register } from "./support/http.ts";
import { type NewUser, onOneAndTwoInstances, type Servers } from "./support/instances.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, openStream, Socket, streamUrl } from "./support/socket.ts";

const FRAME_ERROR = { code: "invalid_json", message: "Frame is not a JSON object with the required fields" };

function cases(servers: Servers, newUser: NewUser) {
  const group = async (owner: Account, others: Account[]) =>
    (
      await call(servers().a.url, "POST", "/v1/rooms", {
        session: owner.session,
        body: { name: "D", users: others.map((u) => ({ id: u.id })) },
      })
    ).body.id as number;

  test("presence.online is sorted by user id on every instance, whatever order the users came in", async () => {
    const { a, b } = servers();
    const [u1, u2, u3] = [await newUser("p"), await newUser("p"), await newUser("p")];
    const room = await group(u1!, [u2!, u3!]);
    const all = [u1!.id, u2!.id, u3!.id];
    const three = (f: any) => f.type === "presence" && f.online.length === 3;
    const s3 = await Socket.open(chatUrl(a, room, u3!, { events: "presence" }));
    await s3.next((f) => f.type === "presence");
    const s1 = await Socket.open(chatUrl(b, room, u1!, { events: "presence" }));
    const s2 = await Socket.open(chatUrl(a, room, u2!, { events: "presence" }));
    for (const s of [s3, s1, s2]) expect((await s.next(three)).online).toEqual(all);
    await Promise.all([s1.close(), s2.close(), s3.close()]);
  });

  test("the sender's own sockets receive its read event, the sending socket included", async () => {
    const { a, b } = servers();
    const [ann, ben] = [await newUser("r"), await newUser("r")];
    const room = await group(ann!, [ben!]);
    const sender = await Socket.open(chatUrl(a, room, ann!, { events: "read" }));
    const other = await Socket.open(chatUrl(b, room, ann!, { events: "read" }));
    sender.send({ text: "read me", client_id: "r1" });
    const m = await sender.next(isMessage);
    sender.send({ type: "read", message_id: m.id });
    const expected = { type: "read", room_id: room, user_id: ann!.id, message_id: m.id };
    expect(await sender.next((f) => f.type === "read")).toEqual(expected);
    expect(await other.next((f) => f.type === "read")).toEqual(expected);
    await Promise.all([sender.close(), other.close()]);
  });
}

onOneAndTwoInstances(cases);

// The frame handling is the same on every instance: one is enough.
describe("frames", () => {
  let s: TestServer, ann: Account, room: number;
  beforeAll(async () => {
    s = await startServer();
    ann = await register(s.url, "ann");
    room = (await call(s.url, "POST", "/v1/rooms", { session: ann.session, body: { name: "F", users: [] } })).body.id;
  });
  afterAll(() => s.stop());

  test("a binary frame is read as UTF-8 text: its message is stored and comes back as text", async () => {
    const sock = await Socket.open(chatUrl(s, room, ann));
    const received = new Promise<unknown>((resolve) => sock.ws.addEventListener("message", (e) => resolve(e.data)));
    sock.ws.send(new TextEncoder().encode(JSON.stringify({ text: "двоичный", client_id: "b1" })));
    expect(await sock.next(isMessage)).toMatchObject({ text: "двоичный", client_id: "b1" });
    expect(typeof (await received)).toBe("string");
    await sock.close();
  });

  test.each([
    ["text that is not JSON", "not json"],
    ["JSON that is not an object", "[1,2]"],
    ["a binary frame that is not UTF-8", new Uint8Array([0xff, 0xfe, 0x7b])],
  ])("%s on a room socket: invalid_json, with a message about the frame", async (_, frame) => {
    const sock = await Socket.open(chatUrl(s, room, ann));
    sock.ws.send(frame);
    expect((await sock.next((f) => f.error !== undefined)).error).toEqual(FRAME_ERROR);
    await sock.close();
  });

  test("on the user stream too", async () => {
    const st = await openStream(streamUrl(s, ann));
    st.ws.send("{");
    expect((await st.next((f) => f.error !== undefined)).error).toEqual(FRAME_ERROR);
    st.send({ type: "resume", rooms: "no" });
    expect((await st.next((f) => f.error !== undefined)).error).toEqual(FRAME_ERROR);
    await st.close();
  });

  test("HTTP keeps the body's message for the same code", async () => {
    const r = await call(s.url, "POST", "/v1/rooms", { session: ann.session, body: [] as unknown as object });
    expect(r.body.error).toEqual({ code: "invalid_json", message: "body must be a JSON object" });
  });
});
