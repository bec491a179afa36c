// Presence on the user stream: per user, not per room. A user is online while they have any socket
// (room socket or stream) anywhere; a stream hears of the users who share a room with its user: after
// synced, one frame per such user online; then each first socket opened and last socket closed
// anywhere; online when it starts sharing a room with an online user, offline when it stops.
// On one instance and on two (through Redis and through PostgreSQL LISTEN/NOTIFY).
import { expect, test } from "bun:test";
import { type Account, call } from "./support/http.ts";
import { type NewUser, onOneAndTwoInstances, type Servers } from "./support/instances.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, isUserPresence, Socket, streamUrl } from "./support/socket.ts";

const on = (who: Account) => ({ type: "presence", user_id: who.id, online: true });
const off = (who: Account) => ({ type: "presence", user_id: who.id, online: false });

// A stream resumed with no state, up to and including synced.
async function synced(t: TestServer, who: Account) {
  const st = await Socket.open(streamUrl(t, who));
  st.send({ type: "resume", rooms: {} });
  await st.next((f) => f.type === "synced");
  return st;
}
// A stream's presence frames after synced (and nothing else of the stream's frames).
const nextPresence = (st: Socket) => st.next(isUserPresence);
// Online anywhere: a stream of the user, synced.
const online = (t: TestServer, who: Account) => synced(t, who);

// The cases, on `a` and `b` (the same server on one instance).
function presenceCases(servers: Servers, newUser: NewUser) {
  const group = async (owner: Account, others: Account[]) =>
    (
      await call(servers().a.url, "POST", "/v1/rooms", {
        session: owner.session,
        body: { name: "P", users: others.map((u) => ({ id: u.id })) },
      })
    ).body.id as number;

  test("after synced: one presence frame per online user who shares a room; none for others or itself", async () => {
    const { a, b } = servers();
    const [ann, ben, cat, dan] = await Promise.all(["ann", "ben", "cat", "dan"].map(newUser));
    const room = await group(ann!, [ben!, dan!]);
    const benSock = await Socket.open(chatUrl(b, room, ben!)); // a room socket counts
    const catStream = await online(b, cat!); // online, shares no room with ann
    const st = await Socket.open(streamUrl(a, ann!));
    st.send({ type: "resume", rooms: {} });
    const frames = [];
    for (let f = await st.next(); ; f = await st.next()) {
      frames.push(f);
      if (isUserPresence(f)) break;
    }
    expect(frames.at(-2).type).toBe("synced");
    expect(frames.at(-1)).toEqual(on(ben!)); // dan is offline, cat shares nothing, ann is not told of herself
    // Then live: dan's first socket, on the other instance.
    const danStream = await online(b, dan!);
    expect(await nextPresence(st)).toEqual(on(dan!));
    expect(st.inbox.filter(isUserPresence)).toEqual([]);
    await Promise.all([st.close(), benSock.close(), catStream.close(), danStream.close()]);
  });

  test("online from the first socket anywhere to the last: more sockets or rooms change nothing", async () => {
    const { a, b } = servers();
    const [ann, eve, fay] = await Promise.all(["ann", "eve", "fay"].map(newUser));
    const r1 = await group(ann!, [eve!, fay!]);
    await group(eve!, [ann!]); // a second shared room: still one frame per change
    const st = await synced(a, ann!);
    const e1 = await Socket.open(chatUrl(a, r1, eve!));
    expect(await nextPresence(st)).toEqual(on(eve!));
    const e2 = await online(b, eve!); // her second socket, on the other instance: no news
    await e1.close();
    const f1 = await online(b, fay!); // a later change, so that nothing came in between
    expect(await nextPresence(st)).toEqual(on(fay!));
    await e2.close(); // her last socket
    expect(await nextPresence(st)).toEqual(off(eve!));
    await f1.close();
    expect(await nextPresence(st)).toEqual(off(fay!));
    await st.close();
  });

  test("sharing a room starts: online for an online user; stops: offline, then nothing more of them", async () => {
    const { a, b } = servers();
    const [ann, gus, hal] = await Promise.all(["ann", "gus", "hal"].map(newUser));
    const st = await synced(a, ann!);
    const [g, h] = await Promise.all([online(b, gus!), online(b, hal!)]);
    const room = await group(ann!, [gus!]); // ann adds gus: now they share a room
    expect(await nextPresence(st)).toEqual(on(gus!));
    // hal creates a group with ann: ann is added to a room where hal is.
    const other = await group(hal!, [ann!]);
    expect(await nextPresence(st)).toEqual(on(hal!));
    await call(a.url, "DELETE", `/v1/rooms/${room}/users/${gus!.id}`, { session: ann!.session });
    expect(await nextPresence(st)).toEqual(off(gus!));
    await call(b.url, "DELETE", `/v1/rooms/${other}/users/${ann!.id}`, { session: ann!.session }); // ann leaves
    expect(await nextPresence(st)).toEqual(off(hal!));
    await g.close(); // no longer shares a room: not told
    const ivy = await newUser("ivy");
    await group(ann!, [ivy!]);
    const i = await online(b, ivy!);
    expect(await nextPresence(st)).toEqual(on(ivy!));
    await Promise.all([st.close(), h.close(), i.close()]);
  });

  test("the room socket's per-room presence is unchanged", async () => {
    const { a, b } = servers();
    const [ann, jo] = await Promise.all(["ann", "jo"].map(newUser));
    const room = await group(ann!, [jo!]);
    const sa = await Socket.open(chatUrl(a, room, ann!, { events: "presence" }));
    expect(await sa.next()).toEqual({ type: "presence", room_id: room, online: [ann!.id] });
    const jStream = await online(b, jo!); // a stream is not in the room's presence
    const sj = await Socket.open(chatUrl(b, room, jo!));
    const list = await sa.next((f) => f.type === "presence" && f.online.length === 2);
    expect(list.online.sort()).toEqual([ann!.id, jo!.id].sort());
    await Promise.all([sa.close(), jStream.close(), sj.close()]);
  });
}

onOneAndTwoInstances(presenceCases);
