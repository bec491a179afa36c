// Groups meet the rest: a server admin who is a member manages any group; joining a group through an
// invite link is a membership change in the room's order; the member and room caps hold for adding and
// joining.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeInvite, registerWith, startWithAdmin } from "./support/admin.ts";
import { type Account, call, expectError, registerAll } from "./support/http.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";

let s: TestServer;
let root: Account, ann: Account, ben: Account;
beforeAll(async () => {
  ({ s, admin: root } = await startWithAdmin({ config: { maxRoomUsers: 3, maxRoomsPerUser: 3 } }));
  const invite = await makeInvite(s.url, root, { uses: 10 });
  [ann, ben] = (await Promise.all(["ann", "ben"].map((l) => registerWith(s.url, l, invite.code)))) as [
    Account,
    Account,
  ];
});
afterAll(() => s.stop());

async function group(owner: Account, members: Account[], extra: Record<string, unknown> = {}): Promise<number> {
  const r = await call(s.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { name: "G", users: members.map((u) => ({ id: u.id })), ...extra },
  });
  if (r.status !== 200) throw new Error(`group: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

describe("a server admin", () => {
  test("who is a member renames a group and removes its members like the owner", async () => {
    const room = await group(ann, [ben, root]);
    const r = await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: root.session, body: { name: "by root" } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "by root", owner_id: ann.id });
    const removed = await call(s.url, "DELETE", `/v1/rooms/${room}/users/${ben.id}`, { session: root.session });
    expect(removed.status).toBe(200);
    expectError(
      await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: ben.session, body: { name: "x" } }),
      422,
      "room_not_found",
    );
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${root.id}`, { session: root.session });
  });

  test("who is not a member gets room_not_found, like anyone", async () => {
    const room = await group(ann, [ben]);
    expectError(
      await call(s.url, "PATCH", `/v1/rooms/${room}`, { session: root.session, body: { name: "x" } }),
      422,
      "room_not_found",
    );
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${ann.id}`, { session: ann.session });
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${ben.id}`, { session: ben.session });
  });
});

describe("an invite into a room", () => {
  test("the new user's joining is a members frame in the room's order", async () => {
    const room = await group(root, [ann]);
    const watch = await Socket.open(chatUrl(s, room, ann, { events: "members" }));
    const invite = await makeInvite(s.url, root, { room_id: room });
    const cat = await registerWith(s.url, "cat", invite.code);
    expect(cat.roomId).toBe(room);
    expect(await watch.next()).toEqual({
      type: "members",
      room_id: room,
      seq: 2,
      users: [
        { id: root.id, login: "root" },
        { id: ann.id, login: "ann" },
        { id: cat.id, login: "cat" },
      ],
      added: [cat.id],
      removed: [],
      by: cat.id,
    });
    await watch.close();
    // The room is full now (--max-room-users 3): the next invitee is registered without joining it.
    const full = await makeInvite(s.url, root, { room_id: room });
    const dan = await registerWith(s.url, "dan", full.code);
    expect(dan.roomId).toBeUndefined();
    for (const who of [root, ann, cat])
      await call(s.url, "DELETE", `/v1/rooms/${room}/users/${who.id}`, { session: who.session });
  });
});

describe("caps", () => {
  test("joining a full public group is too_many_users; a user in --max-rooms-per-user rooms is too_many_rooms", async () => {
    const [fay, gus] = await registerAll(s.url, ["fay", "gus"]);
    const open = await group(ann, [ben], { public: true });
    await call(s.url, "POST", `/v1/rooms/${open}/join`, { session: fay.session });
    expectError(await call(s.url, "POST", `/v1/rooms/${open}/join`, { session: gus.session }), 422, "too_many_users");
    // gus in 3 rooms: a fourth by join or by being added is too_many_rooms, naming him.
    const mine = await Promise.all([1, 2, 3].map(() => group(gus, [])));
    const other = await group(ann, [], { public: true });
    const joined = await call(s.url, "POST", `/v1/rooms/${other}/join`, { session: gus.session });
    expectError(joined, 422, "too_many_rooms");
    expect(joined.body.error.message).toContain("You are");
    const added = await call(s.url, "POST", `/v1/rooms/${other}/users`, {
      session: ann.session,
      body: { users: [{ id: gus.id }] },
    });
    expectError(added, 422, "too_many_rooms");
    expect(added.body.error.message).toContain('"gus"');
    for (const room of mine) await call(s.url, "DELETE", `/v1/rooms/${room}/users/${gus.id}`, { session: gus.session });
    expect((await call(s.url, "POST", `/v1/rooms/${other}/join`, { session: gus.session })).status).toBe(200);
  });
});
