// Two instances on one PostgreSQL database: invites, disabling and ending sessions hold across them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeInvite, registerRaw, registerWith, setupCode, startLogged } from "./support/admin.ts";
import { type Account, call, createRoom, expectError } from "./support/http.ts";
import { dropDatabase, freshDatabase, fanoutPaths } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

for (const path of fanoutPaths()) {
  describe.skipIf(!path.enabled)(`admins across two instances through ${path.name}`, () => {
    let a: TestServer, b: TestServer, databaseUrl: string, root: Account;
    beforeAll(async () => {
      databaseUrl = await freshDatabase();
      const config = { databaseUrl, redisUrl: path.redisUrl, registration: "invite" as const };
      const logged = await startLogged({ config });
      a = logged.s;
      b = await startServer({ config });
      root = await registerWith(b.url, "root", await setupCode(logged.sink)); // A's link, used on B
    });
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      if (databaseUrl) await dropDatabase(databaseUrl);
    });

    test("an invite made on A and used on B is used up on A", async () => {
      const once = await makeInvite(a.url, root);
      await registerWith(b.url, "once-b", once.code);
      expectError(await registerRaw(a.url, "once-a", once.code), 403, "invalid_invite");
      const twice = await makeInvite(b.url, root, { uses: 2 });
      await Promise.all([registerWith(a.url, "twice-a", twice.code), registerWith(b.url, "twice-b", twice.code)]);
      expectError(await registerRaw(a.url, "twice-c", twice.code), 403, "invalid_invite");
      const listed = await call(a.url, "GET", "/v1/invites", { session: root.session });
      expect(listed.body.map((i: any) => i.id)).not.toContain(twice.id);
    });

    test("disabling on A closes the user's sockets on B with 4001, and B refuses the session at once", async () => {
      const [hal, ivy] = await Promise.all(
        ["hal", "ivy"].map(async (l, i) => registerWith(i ? b.url : a.url, l, (await makeInvite(a.url, root)).code)),
      );
      const room = await createRoom(b.url, hal!, [ivy!]);
      const onB = await Socket.open(chatUrl(b, room, hal!));
      expect((await call(b.url, "GET", "/v1/info", { session: hal!.session })).status).toBe(200); // cached on B
      const r = await call(a.url, "PATCH", `/v1/admin/users/${hal!.id}`, {
        session: root.session,
        body: { disabled: true },
      });
      expect(r.status).toBe(200);
      expect(await onB.closed).toEqual({ code: 4001, reason: "logged out" });
      expectError(await call(b.url, "GET", "/v1/info", { session: hal!.session }), 401, "unauthorized");
      expectError(
        await call(b.url, "POST", "/v1/login", { body: { login: "hal", password: "password123" } }),
        403,
        "account_disabled",
      );
    });

    test("a session ended on A closes its sockets on B, and B refuses it at once", async () => {
      const jo = await registerWith(a.url, "jo", (await makeInvite(a.url, root)).code);
      const kim = await registerWith(a.url, "kim", (await makeInvite(a.url, root)).code);
      const other = (await call(b.url, "POST", "/v1/login", { body: { login: "jo", password: "password123" } })).body
        .session_id as string;
      const room = await createRoom(a.url, jo, [kim]);
      const onB = await Socket.open(chatUrl(b, room, { ...jo, session: other }));
      expect((await call(b.url, "GET", "/v1/info", { session: other })).status).toBe(200); // cached on B
      const list = await call(a.url, "GET", "/v1/sessions", { session: jo.session });
      const id = list.body.find((x: any) => !x.current).id;
      expect((await call(a.url, "DELETE", `/v1/sessions/${id}`, { session: jo.session })).status).toBe(200);
      expect(await onB.closed).toEqual({ code: 4001, reason: "logged out" });
      expectError(await call(b.url, "GET", "/v1/info", { session: other }), 401, "unauthorized");
    });
  });
}
