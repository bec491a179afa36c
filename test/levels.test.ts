// Notification levels per user and room: PUT /v1/rooms/:id/settings {"notify"} sets the caller's own level,
// GET /v1/rooms carries each room's level in effect (a member who never chose: all in direct rooms, mentions in
// groups), and every user stream of the caller, on every instance, gets a settings frame; nobody else does.
// On one instance and on two (through Redis and through PostgreSQL LISTEN/NOTIFY); a version 8 database migrates.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, EchatClient, type SettingsFrame } from "../client/index.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { type Account, call, createRoom, expectError, registerAll } from "./support/http.ts";
import { type NewUser, onOneAndTwoInstances, type Servers } from "./support/instances.ts";
import { afterUpgradeFrom } from "./support/old-schema.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { openStream, type Socket, streamUrl } from "./support/socket.ts";

const put = (t: TestServer, who: Account, room: number | string, body: unknown) =>
  call(t.url, "PUT", `/v1/rooms/${room}/settings`, { session: who.session, body });

async function levels(t: TestServer, who: Account): Promise<Record<number, string>> {
  const r = await call(t.url, "GET", "/v1/rooms", { session: who.session });
  expect(r.status).toBe(200);
  return Object.fromEntries(r.body.map((room: any) => [room.id, room.notify]));
}

async function group(t: TestServer, owner: Account, others: Account[]): Promise<number> {
  const body = { name: "G", users: others.map((u) => ({ id: u.id })) };
  const r = await call(t.url, "POST", "/v1/rooms", { session: owner.session, body });
  expect(r.status).toBe(200);
  return r.body.id;
}

// A user stream resumed with no state, live (past synced).
async function live(t: TestServer, who: Account): Promise<Socket> {
  const st = await openStream(streamUrl(t, who));
  st.send({ type: "resume", rooms: {} });
  await st.next((f) => f.type === "synced");
  return st;
}
const isSettings = (f: any) => f.type === "settings";

// The cases, on `a` and `b` (the same server on one instance).
function levelCases(servers: Servers, newUser: NewUser) {
  test("defaults: all in a direct room, mentions in a group; a change is the caller's own", async () => {
    const { a, b } = servers();
    const [ann, ben] = [await newUser("ann"), await newUser("ben")];
    const direct = await createRoom(a.url, ann, [ben]);
    const groupId = await group(a, ann, [ben]);
    expect(await levels(a, ann)).toEqual({ [direct]: "all", [groupId]: "mentions" });

    const r = await put(a, ann, groupId, { notify: "all" });
    expect(r).toMatchObject({ status: 200, body: { notify: "all" } });
    expect((await put(a, ann, direct, { notify: "none" })).body).toEqual({ notify: "none", retention: null });
    expect(await levels(b, ann)).toEqual({ [direct]: "none", [groupId]: "all" });
    expect(await levels(b, ben)).toEqual({ [direct]: "all", [groupId]: "mentions" });
    expect((await put(b, ann, groupId, { notify: "mentions" })).body).toEqual({ notify: "mentions", retention: null });
    expect((await levels(a, ann))[groupId]).toBe("mentions");
  });

  test("the settings frame reaches every stream of the user, on every instance, and no one else's", async () => {
    const { a, b } = servers();
    const [ann, ben] = [await newUser("ann"), await newUser("ben")];
    const room = await group(a, ann, [ben]);
    const [annA, annB, benB] = [await live(a, ann), await live(b, ann), await live(b, ben)];
    try {
      expect((await put(a, ann, room, { notify: "none" })).status).toBe(200);
      const expected = { type: "settings", room_id: room, notify: "none" };
      expect(await annA.next(isSettings)).toEqual(expected);
      expect(await annB.next(isSettings)).toEqual(expected);
      // Ben's own change, published after ann's through the same broker: his first settings frame is his.
      expect((await put(a, ben, room, { notify: "all" })).status).toBe(200);
      expect(await benB.next(isSettings)).toEqual({ type: "settings", room_id: room, notify: "all" });
      expect(benB.inbox.filter(isSettings)).toEqual([]);
      // Ann's streams never hear of ben's: her next change is the next frame they get.
      expect((await put(b, ann, room, { notify: "mentions" })).status).toBe(200);
      for (const st of [annA, annB]) expect((await st.next(isSettings)).notify).toBe("mentions");
    } finally {
      await Promise.all([annA.close(), annB.close(), benB.close()]);
    }
  });
}

onOneAndTwoInstances(levelCases);

describe("the typed client", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());

  const client = () => new EchatClient({ fetch: checkedFetch, WebSocket: CheckedWebSocket, baseUrl: s.url });

  test("setRoomSettings, notify in listRooms(), and the stream's settings event on the user's other device", async () => {
    const [phone, laptop, other] = [client(), client(), client()];
    await phone.register("dee", "password123");
    await laptop.login("dee", "password123");
    await other.register("eve", "password123");
    const eve = await other.info();
    const room = (await phone.createGroup({ name: "G", users: [{ id: eve.id }] })).id;
    const stream = laptop.stream();
    const synced = new Promise<void>((resolve) => stream.on("synced", () => resolve()));
    const settings = new Promise<SettingsFrame>((resolve) => stream.on("settings", resolve));
    await synced;
    try {
      expect((await phone.listRooms()).rooms.map((r) => r.notify)).toEqual(["mentions"]);
      expect(await phone.setRoomSettings(room, { notify: "all" })).toEqual({ notify: "all", retention: null });
      expect(await settings).toEqual({ type: "settings", room_id: room, notify: "all" });
      expect((await laptop.listRooms()).rooms.map((r) => r.notify)).toEqual(["all"]);
      const refused = await phone.setRoomSettings(room, { notify: "loud" as "all" }).catch((e) => e);
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused.code).toBe("invalid_notify");
    } finally {
      stream.close();
    }
  });
});

describe("refusals", () => {
  let s: TestServer;
  let ann: Account, ben: Account, cat: Account;
  let room: number;
  beforeAll(async () => {
    s = await startServer();
    [ann, ben, cat] = await registerAll(s.url, ["ann", "ben", "cat"]);
    room = await createRoom(s.url, ann, [ben]);
  });
  afterAll(() => s.stop());

  test.each([["loud"], [""], ["ALL"], [1], [null], [true], [["all"]], [undefined]])(
    "notify %p is invalid_notify",
    async (notify) => {
      expectError(await put(s, ann, room, { notify }), 422, "invalid_notify");
    },
  );

  test("a body that is not a JSON object is invalid_json", async () => {
    const r = await call(s.url, "PUT", `/v1/rooms/${room}/settings`, { session: ann.session, raw: "[1]" });
    expectError(r, 422, "invalid_json");
  });

  test("a room the caller is not in, or none, is room_not_found, and nothing changes", async () => {
    expectError(await put(s, cat, room, { notify: "none" }), 422, "room_not_found");
    expectError(await put(s, ann, 999999, { notify: "none" }), 422, "room_not_found");
    expect((await levels(s, ann))[room]).toBe("all");
  });

  test("no session is unauthorized; a foreign Origin is forbidden_origin; a body over 64 KiB is payload_too_large", async () => {
    const path = `/v1/rooms/${room}/settings`;
    expectError(await call(s.url, "PUT", path, { body: { notify: "all" } }), 401, "unauthorized");
    const headers = { origin: "https://evil.example" };
    const foreign = await call(s.url, "PUT", path, { session: ann.session, body: { notify: "all" }, headers });
    expectError(foreign, 403, "forbidden_origin");
    const raw = JSON.stringify({ notify: "all", pad: "x".repeat(64 * 1024) });
    expectError(await call(s.url, "PUT", path, { session: ann.session, raw }), 413, "payload_too_large");
  });
});

test("a version 8 database gets the defaults, and levels work after the upgrade", async () => {
  await afterUpgradeFrom(
    8,
    async (t) => {
      const [ann, ben] = await registerAll(t.url, ["ann", "ben"]);
      const direct = await createRoom(t.url, ann, [ben]);
      const groupId = await group(t, ann, [ben]);
      return { ben, direct, groupId };
    },
    async (t, { ben, direct, groupId }) => {
      expect(await levels(t, ben)).toEqual({ [direct]: "all", [groupId]: "mentions" });
      expect((await put(t, ben, groupId, { notify: "none" })).body).toEqual({ notify: "none", retention: null });
      expect(await levels(t, ben)).toEqual({ [direct]: "all", [groupId]: "none" });
    },
  );
});
