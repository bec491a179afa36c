// Registration modes, invites and the first-admin setup link, black-box on whichever store the run uses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeInvite, registerRaw, registerWith, setupCode, startLogged, startWithAdmin } from "./support/admin.ts";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import type { LogSink } from "./support/log.ts";
import type { TestServer } from "./support/server.ts";

const DAY_MS = 24 * 3600 * 1000;

describe("--registration invite", () => {
  let s: TestServer, admin: Account;
  beforeAll(async () => ({ s, admin } = await startWithAdmin({ config: { registration: "invite" } })));
  afterAll(() => s?.stop());

  test("registering without an invite is invite_required; a null invite is none", async () => {
    expectError(
      await call(s.url, "POST", "/v1/register", { body: { login: "x", password: "password123" } }),
      403,
      "invite_required",
    );
    expectError(await registerRaw(s.url, "x", null), 403, "invite_required");
  });

  test("an invite that is not a string is invalid_json", async () => {
    expectError(await registerRaw(s.url, "x", 42), 422, "invalid_json");
  });

  test.each([
    ["malformed", "abc"],
    ["unknown", "A".repeat(24)],
  ])("a %s invite is invalid_invite", async (_, code) => {
    expectError(await registerRaw(s.url, "x", code), 403, "invalid_invite");
  });

  test("an invite makes one account; used again it is invalid_invite", async () => {
    const inv = await makeInvite(s.url, admin);
    expect(inv).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      code: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
      url: `${s.url}/#invite=${inv.code}`,
      uses_left: 1,
      expires_at: expect.stringMatching(/Z$/),
      room_id: null,
    });
    const left = Date.parse(inv.expires_at) - s.clock.now();
    expect(Math.abs(left - 7 * DAY_MS)).toBeLessThan(5000);
    const alice = await registerWith(s.url, "inv-alice", inv.code);
    expect((await call(s.url, "GET", "/v1/info", { session: alice.session })).body).toEqual({
      id: alice.id,
      login: "inv-alice",
      admin: false,
    });
    expectError(await registerRaw(s.url, "inv-alice2", inv.code), 403, "invalid_invite");
  });

  test("an invite with uses: 3 makes three accounts", async () => {
    const inv = await makeInvite(s.url, admin, { uses: 3 });
    for (const login of ["u3-a", "u3-b", "u3-c"]) await registerWith(s.url, login, inv.code);
    expectError(await registerRaw(s.url, "u3-d", inv.code), 403, "invalid_invite");
  });

  test("a bad invite never tells whether the login is taken; a good one keeps its use when it is", async () => {
    const inv = await makeInvite(s.url, admin);
    await registerWith(s.url, "taken-login", inv.code);
    expectError(await registerRaw(s.url, "taken-login", "B".repeat(24)), 403, "invalid_invite");
    const second = await makeInvite(s.url, admin);
    expectError(await registerRaw(s.url, "TAKEN-login", second.code), 422, "user_already_exists");
    await registerWith(s.url, "not-taken", second.code);
  });

  test("an expired invite is invalid_invite", async () => {
    const inv = await makeInvite(s.url, admin, { expires_in: 60 });
    s.clock.advance(61_000);
    expectError(await registerRaw(s.url, "late", inv.code), 403, "invalid_invite");
    expect(
      (await call(s.url, "GET", "/v1/invites", { session: admin.session })).body.map((i: any) => i.id),
    ).not.toContain(inv.id);
  });

  test("a revoked invite is invalid_invite: revoked by its id from the list, or by its code", async () => {
    const [a, b] = [await makeInvite(s.url, admin, { uses: 5 }), await makeInvite(s.url, admin)];
    const list = await call(s.url, "GET", "/v1/invites", { session: admin.session });
    expect(list.status).toBe(200);
    const shown = list.body.find((i: any) => i.id === a.id);
    expect(shown).toEqual({
      id: a.id,
      uses_left: 5,
      expires_at: a.expires_at,
      created_at: expect.stringMatching(/Z$/),
      created_by: admin.id,
      room_id: null,
    });
    expect(JSON.stringify(list.body)).not.toContain(a.code); // the server keeps only a hash of the code
    expect((await call(s.url, "DELETE", `/v1/invites/${a.id}`, { session: admin.session })).body).toEqual({});
    expect((await call(s.url, "DELETE", `/v1/invites/${b.code}`, { session: admin.session })).status).toBe(200);
    for (const inv of [a, b]) expectError(await registerRaw(s.url, "revoked", inv.code), 403, "invalid_invite");
    const again = await call(s.url, "DELETE", `/v1/invites/${a.id}`, { session: admin.session });
    expectError(again, 422, "invite_not_found");
    expectError(
      await call(s.url, "DELETE", "/v1/invites/nonsense", { session: admin.session }),
      422,
      "invite_not_found",
    );
  });

  test.each([
    [{ uses: 0 }],
    [{ uses: 1001 }],
    [{ uses: "2" }],
    [{ uses: 1.5 }],
    [{ expires_in: 59 }],
    [{ expires_in: 366 * 24 * 3600 }],
    [{ room_id: "1" }],
  ])("creating an invite with %j is invalid_json", async (body) => {
    expectError(await call(s.url, "POST", "/v1/invites", { session: admin.session, body }), 422, "invalid_json");
  });

  test("an invite into a room the admin is not in is room_not_found", async () => {
    const inv = await makeInvite(s.url, admin);
    const [x, y] = [
      await registerWith(s.url, "room-x", inv.code),
      await registerWith(s.url, "room-y", (await makeInvite(s.url, admin)).code),
    ];
    const room = await createRoom(s.url, x, [y]);
    const r = await call(s.url, "POST", "/v1/invites", { session: admin.session, body: { room_id: room } });
    expectError(r, 422, "room_not_found");
    expectError(
      await call(s.url, "POST", "/v1/invites", { session: admin.session, body: { room_id: 999999 } }),
      422,
      "room_not_found",
    );
  });

  test("an invite with a room: the new user joins it, and the register answer names it", async () => {
    const inv = await makeInvite(s.url, admin);
    const bob = await registerWith(s.url, "room-bob", inv.code);
    const room = await createRoom(s.url, admin, [bob]);
    const roomInvite = await makeInvite(s.url, admin, { room_id: room, uses: 2 });
    expect(roomInvite.room_id).toBe(room);
    const carol = await registerWith(s.url, "room-carol", roomInvite.code);
    expect(carol.roomId).toBe(room);
    const seen = await call(s.url, "GET", `/v1/rooms/${room}`, { session: carol.session });
    expect(seen.status).toBe(200);
    expect(seen.body.users.map((u: any) => u.login)).toEqual(["room-carol", "root", "room-bob"]);
    const list = await call(s.url, "GET", "/v1/rooms", { session: admin.session });
    expect(list.body.find((r: any) => r.id === room).users.map((u: any) => u.login)).toContain("room-carol");
  });

  test("non-admins get forbidden from every invite endpoint; no session is unauthorized", async () => {
    const bob = await registerWith(s.url, "plain-bob", (await makeInvite(s.url, admin)).code);
    const inv = await makeInvite(s.url, admin);
    for (const [method, path] of [
      ["POST", "/v1/invites"],
      ["GET", "/v1/invites"],
      ["DELETE", `/v1/invites/${inv.id}`],
    ] as const) {
      expectError(
        await call(s.url, method, path, { session: bob.session, body: method === "POST" ? {} : undefined }),
        403,
        "forbidden",
      );
      expectError(await call(s.url, method, path), 401, "unauthorized");
    }
    await registerWith(s.url, "still-valid", inv.code); // the forbidden revoke changed nothing
  });
});

describe("--registration closed", () => {
  let s: TestServer, sink: LogSink;
  beforeAll(async () => ({ s, sink } = await startLogged({ config: { registration: "closed" } })));
  afterAll(() => s?.stop());

  test("registering is registration_closed, with an ordinary invite or none; the setup link still works", async () => {
    const code = await setupCode(sink);
    expectError(
      await call(s.url, "POST", "/v1/register", { body: { login: "x", password: "password123" } }),
      403,
      "registration_closed",
    );
    expectError(await registerRaw(s.url, "x", "C".repeat(24)), 403, "registration_closed");
    const admin = await registerWith(s.url, "boss", code);
    expect((await call(s.url, "GET", "/v1/info", { session: admin.session })).body.admin).toBe(true);
    const inv = await makeInvite(s.url, admin);
    expectError(await registerRaw(s.url, "y", inv.code), 403, "registration_closed");
  });
});

describe("the first-admin setup link", () => {
  test("printed at start while no admin exists; makes an admin once; gone once an admin exists", async () => {
    let { s, sink } = await startLogged(); // open registration
    try {
      const code = await setupCode(sink);
      const plain = await register(s.url, "first-plain");
      expect((await call(s.url, "GET", "/v1/info", { session: plain.session })).body.admin).toBe(false);
      const admin = await registerWith(s.url, "first-admin", code);
      expect((await call(s.url, "GET", "/v1/info", { session: admin.session })).body).toEqual({
        id: admin.id,
        login: "first-admin",
        admin: true,
      });
      expectError(await registerRaw(s.url, "second-admin", code), 403, "invalid_invite");
      const from = sink.lines.length;
      s = await s.restart();
      expect(sink.lines.slice(from).some((l) => l.includes("no admin yet"))).toBe(false);
    } finally {
      await s.stop();
    }
  });

  test("every start without an admin prints a new link; each works until an admin exists", async () => {
    const { s, sink } = await startLogged();
    try {
      const first = await setupCode(sink);
      const from = sink.lines.length;
      const again = await s.restart();
      const second = await setupCode(sink, from);
      expect(second).not.toBe(first);
      await registerWith(again.url, "setup-a", second);
      expectError(await registerRaw(again.url, "setup-b", first), 403, "invalid_invite");
      await again.stop();
    } catch (e) {
      await s.stop();
      throw e;
    }
  });

  test("the start-up log warns once when registration is open on a non-loopback address", async () => {
    for (const [host, registration, warns] of [
      ["0.0.0.0", "open", true],
      ["127.0.0.1", "open", false],
      ["0.0.0.0", "invite", false],
    ] as const) {
      const { s, sink } = await startLogged({ config: { host, registration } });
      await setupCode(sink); // the start-up lines are out
      const lines = sink.lines.filter((l) => l.includes("registration is open"));
      expect(lines.length).toBe(warns ? 1 : 0);
      if (warns) expect(lines[0]).toContain("WARN");
      if (warns) expect(lines[0]).toContain("--registration invite");
      if (warns) expect(lines[0]).toContain(`reaches 0.0.0.0:${s.port} `); // the bound port, not the configured 0
      await s.stop();
    }
  });

  test("--public-url makes the invite links; without it they follow the request's Host", async () => {
    const { s, admin } = await startWithAdmin({ config: { publicUrl: "https://chat.example.org" } });
    expect((await makeInvite(s.url, admin)).url).toStartWith("https://chat.example.org/#invite=");
    await s.stop();
    const t = await startWithAdmin();
    const r = await call(t.s.url, "POST", "/v1/invites", {
      session: t.admin.session,
      body: {},
      headers: { host: "chat.local:8443" },
    });
    expect(r.body.url).toStartWith("http://chat.local:8443/#invite=");
    await t.s.stop();
  });
});

test("open registration takes no invite, as the seed does, and still honours one with a room", async () => {
  const { s, admin } = await startWithAdmin();
  try {
    const r = await call(s.url, "POST", "/v1/register", { body: { login: "seedlike", password: "password123" } });
    expect(Object.keys(r.body)).toEqual(["session_id"]);
    const info = await call(s.url, "GET", "/v1/info", { session: r.body.session_id });
    const room = await createRoom(s.url, admin, [{ id: info.body.id, login: "seedlike", session: "" }]);
    const joined = await registerWith(s.url, "joiner", (await makeInvite(s.url, admin, { room_id: room })).code);
    expect(joined.roomId).toBe(room);
  } finally {
    await s.stop();
  }
});
