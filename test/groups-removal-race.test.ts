// A removed member loses access at once, even when the removal races with what the member is doing:
// a room socket opening while the removal commits is closed with 4003 (the hub reads membership again
// once the socket is registered), and a message already queued when the removal commits is refused,
// never stored after the removal (the writer checks each (room, sender) once per batch).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Account, call, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account;
beforeAll(async () => {
  s = await startServer();
  [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
});
afterAll(() => s.stop());

const group = async () =>
  (await call(s.url, "POST", "/v1/rooms", { session: ann.session, body: { name: "R", users: [{ id: ben.id }] } })).body
    .id as number;
const remove = (room: number) => call(s.url, "DELETE", `/v1/rooms/${room}/users/${ben.id}`, { session: ann.session });

test("a room socket that opens while its member is removed is closed with 4003, never left open", async () => {
  for (let i = 0; i < 20; i++) {
    const room = await group();
    const opening = Array.from({ length: 10 }, () => Socket.open(chatUrl(s, room, ben)));
    const [removed, ...opened] = await Promise.allSettled([remove(room), ...opening]);
    expect(removed!.status === "fulfilled" && removed!.value.status).toBe(200);
    // Refused before the upgrade (room_not_found), or opened and then closed with 4003.
    for (const o of opened) if (o.status === "fulfilled") expect((await o.value.closed).code).toBe(4003);
  }
});

test("messages sent while the sender is removed are refused, never stored after the removal", async () => {
  for (let i = 0; i < 10; i++) {
    const room = await group();
    const watcher = await Socket.open(chatUrl(s, room, ann, { events: "members" }));
    const sock = await Socket.open(chatUrl(s, room, ben));
    let closed = false;
    void sock.closed.then(() => (closed = true));
    // Bursts of messages until the removal closes the socket: some arrive while it commits.
    const sending = (async () => {
      for (let n = 0; !closed; n += 20) {
        for (let k = n; k < n + 20; k++) sock.send({ text: `m${k}`, client_id: `c${i}-${k}` });
        await sock.next((f) => f.client_id === `c${i}-${n + 19}`).catch(() => {});
        if (n === 0) void remove(room);
      }
    })();
    const removal = await watcher.next((f) => f.type === "members" && f.removed.includes(ben.id));
    await sending;
    // The newest page: a message stored after the removal would be there.
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=100`, { session: ann.session });
    const late = history.body.filter((m: any) => m.user_id === ben.id && m.seq > removal.seq);
    expect(late).toEqual([]);
    await watcher.close();
  }
});
