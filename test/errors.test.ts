import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

// A store whose room list and message writes fail, as a full disk or a broken database would.
let s: TestServer;
let alice: Account;
let room: number;
beforeAll(async () => {
  s = await startServer({
    wrapStore: (store) => ({
      ...store,
      listRooms: () => Promise.reject(new Error("SECRET disk on fire at /var/lib/echat")),
      createMessage: () => Promise.reject(new Error("SECRET disk full")),
    }),
  });
  alice = await register(s.url, "alice");
  room = await createRoom(s.url, alice, []);
});
afterAll(() => s.stop());

test("an unexpected failure is a 500 internal_error that reveals nothing", async () => {
  const r = await call(s.url, "GET", "/v1/rooms", { session: alice.session });
  expectError(r, 500, "internal_error");
  expect(JSON.stringify(r.body)).not.toContain("SECRET");
  expect((await call(s.url, "GET", "/v1/info", { session: alice.session })).status).toBe(200);
});

test("a message that cannot be stored is answered internal_error on the socket, with its client_id, and the socket stays open", async () => {
  const a = await Socket.open(chatUrl(s, room, alice));
  a.send({ text: "lost?", client_id: "k1" });
  const f = await a.next();
  expect(f).toEqual({ error: { code: "internal_error", message: expect.any(String) }, client_id: "k1" });
  expect(JSON.stringify(f)).not.toContain("SECRET");
  a.send({ type: "nonsense" });
  expect((await a.next()).error.code).toBe("unknown_type");
  await a.close();
});

test("/readyz answers 503 unavailable when the database does not answer, while /healthz stays 200", async () => {
  const t = await startServer({
    wrapStore: (store) => ({
      ...store,
      ping: () => Promise.reject(new Error("SECRET gone")),
    }),
  });
  try {
    const r = await call(t.url, "GET", "/readyz");
    expectError(r, 503, "unavailable");
    expect(JSON.stringify(r.body)).not.toContain("SECRET");
    expect(await call(t.url, "GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
  } finally {
    await t.stop();
  }
});
