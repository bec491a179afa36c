import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, expectError, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";

let s: TestServer;
let vasya: Account, petr: Account, masha: Account, outsider: Account;
beforeAll(async () => {
  s = await startServer();
  [vasya, petr, masha, outsider] = (await Promise.all(
    ["Василий", "Петр", "Маша", "outsider"].map((l) => register(s.url, l)),
  )) as [Account, Account, Account, Account];
});
afterAll(() => s.stop());

describe("user search", () => {
  test("matches a case-insensitive substring in any script, with and without the trailing slash", async () => {
    await Promise.all(["Вася", "ВАСЯН", "привасилий", "Васька"].map((l) => register(s.url, l)));
    for (const path of ["/v1/users/?q=", "/v1/users?q="]) {
      const r = await call(s.url, "GET", path + encodeURIComponent("вася"), { session: vasya.session });
      expect(r.status).toBe(200);
      // exact first, then prefix matches, then the rest alphabetically
      expect(r.body.map((u: any) => u.login)).toEqual(["Вася", "ВАСЯН"]);
      expect(Object.keys(r.body[0]).sort()).toEqual(["id", "login"]);
    }
    const r = await call(s.url, "GET", "/v1/users?q=" + encodeURIComponent("ВАС"), { session: vasya.session });
    expect(r.body.map((u: any) => u.login)).toEqual(["Василий", "Васька", "Вася", "ВАСЯН", "привасилий"]);
  });

  test("no q or an empty q gives []", async () => {
    expect((await call(s.url, "GET", "/v1/users", { session: vasya.session })).body).toEqual([]);
    expect((await call(s.url, "GET", "/v1/users/?q=", { session: vasya.session })).body).toEqual([]);
  });

  test("% and _ are literal, and SQL in q is text", async () => {
    await register(s.url, "a_b%c");
    await register(s.url, "axbyc");
    await register(s.url, "%_x");
    const pct = await call(s.url, "GET", "/v1/users?q=" + encodeURIComponent("b%c"), { session: vasya.session });
    expect(pct.body.map((u: any) => u.login)).toEqual(["a_b%c"]);
    const under = await call(s.url, "GET", "/v1/users?q=_b%25", { session: vasya.session });
    expect(under.body.map((u: any) => u.login)).toEqual(["a_b%c"]);
    const short = await call(s.url, "GET", "/v1/users?q=%25", { session: vasya.session }); // a prefix
    expect(short.body.map((u: any) => u.login)).toEqual(["%_x"]);
    const sql = await call(s.url, "GET", "/v1/users?q=" + encodeURIComponent("'); DROP TABLE users;--"), {
      session: vasya.session,
    });
    expect(sql.status).toBe(200);
    expect(sql.body).toEqual([]);
    expect((await call(s.url, "GET", "/v1/info", { session: vasya.session })).status).toBe(200);
  });

  test("returns at most 50 users", async () => {
    await Promise.all(Array.from({ length: 55 }, (_, i) => register(s.url, `many${i}`)));
    const r = await call(s.url, "GET", "/v1/users?q=many", { session: vasya.session });
    expect(r.body.length).toBe(50);
  });
});

describe("rooms", () => {
  test("creating a room lists the caller first and answers 200", async () => {
    const r = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: [{ id: petr.id, login: "Петр" }] },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: expect.any(Number),
      users: [
        { id: vasya.id, login: "Василий" },
        { id: petr.id, login: "Петр" },
      ],
    });
  });

  test("the same member set gives the same room, whoever creates it and however it is written", async () => {
    const a = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: [{ id: masha.id }, { id: petr.id }] },
    });
    const b = await call(s.url, "POST", "/v1/rooms", {
      session: petr.session,
      body: { users: [{ login: "маша" }, { id: vasya.id }, { id: petr.id }, { id: masha.id }] },
    });
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    expect(b.body.users[0]).toEqual({ id: petr.id, login: "Петр" });
    expect(b.body.users.map((u: any) => u.id).sort()).toEqual([vasya.id, petr.id, masha.id].sort());
    const smaller = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: [{ id: masha.id }] },
    });
    expect(smaller.body.id).not.toBe(a.body.id);
  });

  test("an unknown user, by id or by login, is user_not_found", async () => {
    expectError(
      await call(s.url, "POST", "/v1/rooms", { session: vasya.session, body: { users: [{ id: 999999 }] } }),
      422,
      "user_not_found",
    );
    expectError(
      await call(s.url, "POST", "/v1/rooms", { session: vasya.session, body: { users: [{ login: "ghost" }] } }),
      422,
      "user_not_found",
    );
  });

  test.each([
    ["no users", {}],
    ["users as an object", { users: { id: 1 } }],
    ["users of numbers", { users: [1, 2] }],
    ["a user without id or login", { users: [{ name: "x" }] }],
    ["a string id", { users: [{ id: "2" }] }],
    ["a fractional id", { users: [{ id: 1.5 }] }],
  ])("%s is invalid_json", async (_, body) => {
    expectError(await call(s.url, "POST", "/v1/rooms", { session: vasya.session, body }), 422, "invalid_json");
  });

  test("more than 100 members is too_many_users; exactly 100 is fine", async () => {
    const people = await Promise.all(Array.from({ length: 100 }, (_, i) => register(s.url, `member${i}`)));
    expectError(
      await call(s.url, "POST", "/v1/rooms", {
        session: vasya.session,
        body: { users: people.map((p) => ({ id: p.id })) },
      }),
      422,
      "too_many_users",
    );
    const ok = await call(s.url, "POST", "/v1/rooms", {
      session: vasya.session,
      body: { users: people.slice(1).map((p) => ({ id: p.id })) },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.users.length).toBe(100);
  });

  test("GET /v1/rooms/:id answers members only; other ids are room_not_found", async () => {
    const id = await createRoom(s.url, vasya, [petr]);
    const r = await call(s.url, "GET", `/v1/rooms/${id}`, { session: petr.session });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id,
      users: [
        { id: petr.id, login: "Петр" },
        { id: vasya.id, login: "Василий" },
      ],
    });
    for (const path of [`/v1/rooms/${id}`, `/v1/rooms/${id}/messages`]) {
      expectError(await call(s.url, "GET", path, { session: outsider.session }), 422, "room_not_found");
    }
    for (const bad of ["0", "-1", "abc", "1.5", "999999", "99999999999999999999", "1e3", "%20"]) {
      expectError(await call(s.url, "GET", `/v1/rooms/${bad}`, { session: vasya.session }), 422, "room_not_found");
      expectError(
        await call(s.url, "GET", `/v1/rooms/${bad}/messages`, { session: vasya.session }),
        422,
        "room_not_found",
      );
    }
  });

  test("GET /v1/rooms lists only the caller's rooms, with last_message null before any message", async () => {
    const lonely = await register(s.url, "lonely");
    expect((await call(s.url, "GET", "/v1/rooms", { session: lonely.session })).body).toEqual([]);
    const id = await createRoom(s.url, lonely, [outsider]);
    const r = await call(s.url, "GET", "/v1/rooms", { session: lonely.session });
    expect(r.body).toEqual([
      {
        id,
        users: [
          { id: lonely.id, login: "lonely" },
          { id: outsider.id, login: "outsider" },
        ],
        last_message: null,
        unread: 0,
      },
    ]);
    const theirs = await call(s.url, "GET", "/v1/rooms", { session: outsider.session });
    expect(theirs.body.map((x: any) => x.id)).toContain(id);
    const mine = await call(s.url, "GET", "/v1/rooms", { session: masha.session });
    expect(mine.body.map((x: any) => x.id)).not.toContain(id);
  });
});
