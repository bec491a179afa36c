// Admins manage users: the list, admin rights, disabling and enabling, deleting.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeInvite, startWithAdmin } from "./support/admin.ts";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

let s: TestServer, root: Account;
beforeAll(async () => ({ s, admin: root } = await startWithAdmin()));
afterAll(() => s?.stop());

const patch = (who: Account, id: number, body: unknown) =>
  call(s.url, "PATCH", `/v1/admin/users/${id}`, { session: who.session, body });
const login = (name: string, password = "password123") =>
  call(s.url, "POST", "/v1/login", { body: { login: name, password } });

describe("GET /v1/admin/users", () => {
  test("lists accounts newest first with their flags and times; q searches logins; before pages", async () => {
    const [a, b] = [await register(s.url, "list-Anna"), await register(s.url, "list-bert")];
    const r = await call(s.url, "GET", "/v1/admin/users?q=LIST-", { session: root.session });
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      {
        id: b.id,
        login: "list-bert",
        admin: false,
        disabled: false,
        created_at: expect.any(String),
        last_seen_at: expect.any(String),
      },
      {
        id: a.id,
        login: "list-Anna",
        admin: false,
        disabled: false,
        created_at: expect.any(String),
        last_seen_at: expect.any(String),
      },
    ]);
    const page = await call(s.url, "GET", `/v1/admin/users?q=list-&limit=1&before=${b.id}`, { session: root.session });
    expect(page.body.map((u: any) => u.id)).toEqual([a.id]);
    const all = await call(s.url, "GET", "/v1/admin/users", { session: root.session });
    expect(all.body.map((u: any) => u.login)).toContain("root");
    expect(all.body.find((u: any) => u.login === "root").admin).toBe(true);
  });

  test.each(["limit=0", "limit=201", "before=x"])("?%s is invalid_query", async (q) => {
    expectError(await call(s.url, "GET", `/v1/admin/users?${q}`, { session: root.session }), 422, "invalid_query");
  });

  test("non-admins get forbidden from every admin endpoint", async () => {
    const mallory = await register(s.url, "mallory");
    expectError(await call(s.url, "GET", "/v1/admin/users", { session: mallory.session }), 403, "forbidden");
    expectError(await patch(mallory, mallory.id, { admin: true }), 403, "forbidden");
    expectError(
      await call(s.url, "DELETE", `/v1/admin/users/${root.id}`, { session: mallory.session }),
      403,
      "forbidden",
    );
    expectError(await call(s.url, "GET", "/v1/admin/users"), 401, "unauthorized");
  });
});

describe("PATCH /v1/admin/users/:id", () => {
  test("admin: true makes an admin, who may then make invites; admin: false takes it back", async () => {
    const ada = await register(s.url, "ada");
    const r = await patch(root, ada.id, { admin: true });
    expect(r.body).toMatchObject({ id: ada.id, login: "ada", admin: true, disabled: false });
    expect((await call(s.url, "GET", "/v1/info", { session: ada.session })).body.admin).toBe(true);
    await makeInvite(s.url, ada);
    expect((await patch(root, ada.id, { admin: false })).body.admin).toBe(false);
    expectError(await call(s.url, "GET", "/v1/invites", { session: ada.session }), 403, "forbidden");
  });

  test("the last admin cannot drop their own admin right nor disable themselves: last_admin", async () => {
    expectError(await patch(root, root.id, { admin: false }), 422, "last_admin");
    expectError(await patch(root, root.id, { disabled: true }), 422, "last_admin");
    expectError(
      await call(s.url, "DELETE", `/v1/admin/users/${root.id}`, { session: root.session }),
      422,
      "last_admin",
    );
    const deputy = await register(s.url, "deputy");
    await patch(root, deputy.id, { admin: true });
    expect((await patch(deputy, deputy.id, { admin: false })).status).toBe(200); // root is still an admin
    expect((await call(s.url, "GET", "/v1/info", { session: root.session })).body.admin).toBe(true);
  });

  test.each([[{}], [{ admin: "yes" }], [{ disabled: 1 }], [[]]])("a body of %j is invalid_json", async (body) => {
    const u = await register(s.url, `bad-body-${crypto.randomUUID().slice(0, 6)}`);
    expectError(await patch(root, u.id, body), 422, "invalid_json");
  });

  test.each(["999999", "0", "abc"])("user id %s is user_not_found", async (id) => {
    expectError(
      await call(s.url, "PATCH", `/v1/admin/users/${id}`, { session: root.session, body: { disabled: true } }),
      422,
      "user_not_found",
    );
    expectError(await call(s.url, "DELETE", `/v1/admin/users/${id}`, { session: root.session }), 422, "user_not_found");
  });
});

describe("disabling", () => {
  test("ends every session and closes the user's sockets with 4001; login is account_disabled only with the right password", async () => {
    const [dan, eve] = [await register(s.url, "dan"), await register(s.url, "eve")];
    const second = (await login("dan")).body.session_id as string;
    const room = await createRoom(s.url, dan, [eve]);
    const [sd, se] = [await Socket.open(chatUrl(s, room, dan)), await Socket.open(chatUrl(s, room, eve))];
    const [sent] = await sendAll(sd, ["before"]);
    const r = await patch(root, dan.id, { disabled: true });
    expect(r.body).toMatchObject({ id: dan.id, disabled: true });
    expect(await sd.closed).toEqual({ code: 4001, reason: "logged out" });
    for (const session of [dan.session, second])
      expectError(await call(s.url, "GET", "/v1/info", { session }), 401, "unauthorized");
    expectError(await login("dan"), 403, "account_disabled");
    expectError(await login("dan", "wrong password"), 422, "wrong_credentials");
    // Eve keeps her socket and the room's history keeps Dan's message.
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: eve.session });
    expect(history.body).toEqual([sent]);
    expect(se.ws.readyState).toBe(WebSocket.OPEN);
    const list = await call(s.url, "GET", "/v1/admin/users?q=dan", { session: root.session });
    expect(list.body[0]).toMatchObject({ login: "dan", disabled: true });
    // Enabled again, Dan logs in.
    expect((await patch(root, dan.id, { disabled: false })).body.disabled).toBe(false);
    expect((await login("dan")).status).toBe(200);
    await se.close();
  });
});

describe("deleting", () => {
  test("the account, its sessions and invites go; its messages stay under deleted-<id>; the login is free again", async () => {
    const [fay, gus] = [await register(s.url, "fay"), await register(s.url, "gus")];
    await patch(root, fay.id, { admin: true });
    const invite = await makeInvite(s.url, fay);
    const room = await createRoom(s.url, fay, [gus]);
    const sf = await Socket.open(chatUrl(s, room, fay));
    const [sent] = await sendAll(sf, ["from fay"]);
    expect((await call(s.url, "DELETE", `/v1/admin/users/${fay.id}`, { session: root.session })).body).toEqual({});
    expect(await sf.closed).toEqual({ code: 4001, reason: "logged out" });
    expectError(await call(s.url, "GET", "/v1/info", { session: fay.session }), 401, "unauthorized");
    expectError(
      await call(s.url, "POST", "/v1/register", { body: { login: "x", password: "password123", invite: invite.code } }),
      403,
      "invalid_invite",
    );
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: gus.session });
    expect(history.body).toEqual([sent]); // the same user id
    const seen = await call(s.url, "GET", `/v1/rooms/${room}`, { session: gus.session });
    expect(seen.body.users).toEqual([
      { id: gus.id, login: "gus" },
      { id: fay.id, login: `deleted-${fay.id}` },
    ]);
    expect((await call(s.url, "GET", "/v1/users?q=deleted", { session: gus.session })).body).toEqual([]);
    const withDeleted = { session: gus.session, body: { users: [{ id: fay.id }] } };
    expectError(await call(s.url, "POST", "/v1/rooms", withDeleted), 422, "user_not_found");
    expect((await call(s.url, "GET", `/v1/admin/users?q=deleted`, { session: root.session })).body).toEqual([]);
    expectError(await login("fay"), 422, "user_not_found");
    const again = await register(s.url, "fay");
    expect(again.id).not.toBe(fay.id);
    expectError(
      await call(s.url, "DELETE", `/v1/admin/users/${fay.id}`, { session: root.session }),
      422,
      "user_not_found",
    );
  });
});
