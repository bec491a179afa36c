// Mentions at send: "@login" of a room member (the rule of docs/api.md, lib/mentions.ts) makes the stored message
// carry "mentions" (ids in order of first mention), and GET /v1/rooms counts, per room, the caller's unread
// messages that mention them; reading past them makes the count drop. Members only, as they are when the
// message is stored; retries do not count twice; a member's own messages never count for them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, register, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, isMessage, openStream, Socket, streamUrl } from "./support/socket.ts";

let s: TestServer;
let ann: Account, annaMaria: Account, bob: Account, zoe: Account, carl: Account;
let room: number;
beforeAll(async () => {
  s = await startServer();
  [ann, annaMaria, bob, zoe, carl] = await registerAll(s.url, ["Anna", "Anna Maria", "bob", "Zoë", "carl"]);
  room = await group(ann, [annaMaria, bob, zoe]); // carl is not in it
});
afterAll(() => s.stop());

async function group(owner: Account, members: Account[]): Promise<number> {
  const r = await call(s.url, "POST", "/v1/rooms", {
    session: owner.session,
    body: { name: "M", users: members.map((u) => ({ id: u.id })) },
  });
  return r.body.id;
}

async function send(text: string, who = bob, r = room, clientId?: string) {
  const sock = await Socket.open(chatUrl(s, r, who));
  sock.send(clientId === undefined ? { text } : { text, client_id: clientId });
  const ack = await sock.next(isMessage);
  await sock.close();
  return ack;
}

// The caller's unread mentions and unread count in a room, as GET /v1/rooms says.
async function counts(who: Account, r: number) {
  const rooms = (await call(s.url, "GET", "/v1/rooms", { session: who.session })).body as any[];
  const found = rooms.find((x) => x.id === r);
  return { mentions: found.mentions, unread: found.unread };
}

// Moves the reader's marker to messageId and waits until it is stored (the read event comes back).
async function read(who: Account, r: number, messageId: number) {
  const sock = await Socket.open(chatUrl(s, r, who, { events: "read" }));
  sock.send({ type: "read", message_id: messageId });
  await sock.next((f) => f.type === "read" && f.user_id === who.id && f.message_id === messageId);
  await sock.close();
}

describe("who a message mentions", () => {
  // [text, the logins mentioned in order]
  const cases: [string, string[]][] = [
    ["@Anna hi", ["Anna"]],
    ["hi @anna", ["Anna"]], // case-insensitive, at the end of the text
    ["@ANNA MARIA, welcome", ["Anna Maria"]], // a login with a space: the longest match wins
    ["@anna maria", ["Anna Maria"]],
    ["@Anna Marianne", ["Anna"]], // "Anna Maria" does not end there; "Anna" does, at the space
    ["@bob, @anna.", ["bob", "Anna"]], // in order of first mention
    ["@bob,", ["bob"]],
    ["@bob.", ["bob"]],
    ["@bob;", ["bob"]],
    ["@bob:", ["bob"]],
    ["@bob!", ["bob"]],
    ["@bob?", ["bob"]],
    ["(@bob)", ["bob"]],
    ["ask @bob\tnow", ["bob"]],
    ["line\n@bob\nnext", ["bob"]],
    ["@zoë and @ZOË", ["Zoë"]], // once, whatever the case
    ["@Zoe\u0308!", ["Zoë"]], // decomposed: compared in NFC
    ["@bob @bob @Anna", ["bob", "Anna"]],
    ["mail bob@bob please", []], // not inside a word
    ["x@bob", []],
    ["@bobby", []], // a longer word is not bob
    ["@bob-x", []], // '-' does not end a login
    ["@ bob", []],
    ["@", []],
    ["@carl is not here", []], // not a member
    ["no at sign", []],
  ];
  const ids = () => new Map([ann, annaMaria, bob, zoe, carl].map((u) => [u.login, u.id]));

  test.each(cases)("%j mentions %j", async (text, logins) => {
    const m = await send(text);
    const expected = logins.map((l) => ids().get(l)!);
    if (expected.length) expect(m.mentions).toEqual(expected);
    else expect(m.mentions).toBeUndefined();
    const stored = (await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=1`, { session: ann.session })).body;
    expect(stored).toEqual([m]);
  });

  test("a reply that mentions carries both", async () => {
    const q = await send("question");
    const sock = await Socket.open(chatUrl(s, room, ann));
    sock.send({ text: "@bob answered", reply_to: q.id });
    const m = await sock.next(isMessage);
    expect(m).toMatchObject({ reply_to: q.id, mentions: [bob.id] });
    await sock.close();
  });

  test("members only as they are when the message is stored: a member added later is mentioned from then", async () => {
    const dora = await register(s.url, "dora");
    const before = await send("@dora, are you here?");
    expect(before.mentions).toBeUndefined();
    await call(s.url, "POST", `/v1/rooms/${room}/users`, { session: ann.session, body: { users: [{ id: dora.id }] } });
    expect((await send("@dora, welcome")).mentions).toEqual([dora.id]);
    const history = (await call(s.url, "GET", `/v1/rooms/${room}/messages?limit=2`, { session: dora.session })).body;
    expect(history.map((m: any) => m.mentions)).toEqual([undefined, [dora.id]]);
  });
});

describe("unread mentions in GET /v1/rooms", () => {
  let r: number;
  let eve: Account, fay: Account, gus: Account;
  beforeAll(async () => {
    [eve, fay, gus] = await registerAll(s.url, ["eve", "fay", "gus"]);
    r = await group(eve, [fay, gus]);
  });

  test("every room summary has mentions, 0 without any", async () => {
    expect(await counts(eve, r)).toEqual({ mentions: 0, unread: 0 });
  });

  test("rises for the mentioned member only, and drops as they read past the messages", async () => {
    const first = await send("@fay look", eve, r);
    const second = await send("@fay @gus and this", eve, r);
    await send("nothing for you", eve, r);
    expect(await counts(fay, r)).toEqual({ mentions: 2, unread: 3 });
    expect(await counts(gus, r)).toEqual({ mentions: 1, unread: 3 });
    expect((await counts(eve, r)).mentions).toBe(0);
    await read(fay, r, first.id);
    expect(await counts(fay, r)).toEqual({ mentions: 1, unread: 2 });
    await read(fay, r, second.id + 1);
    expect(await counts(fay, r)).toEqual({ mentions: 0, unread: 0 });
    expect((await counts(gus, r)).mentions).toBe(1); // another member's marker changes nothing for gus
  });

  test("a member's own messages never count, even when they mention themselves", async () => {
    const m = await send("@gus note to self", gus, r);
    expect(m.mentions).toEqual([gus.id]);
    expect((await counts(gus, r)).mentions).toBe(1); // still only eve's earlier one
    expect((await counts(fay, r)).mentions).toBe(0);
  });

  test("retries of a mentioning message do not count twice", async () => {
    const first = await send("@eve once", fay, r, "mention-retry");
    expect(await send("@eve once", fay, r, "mention-retry")).toEqual(first);
    const sock = await Socket.open(chatUrl(s, r, fay));
    sock.send({ text: "@eve once", client_id: "mention-retry" });
    sock.send({ text: "@eve once", client_id: "mention-retry" });
    expect(await sock.take(2, isMessage)).toEqual([first, first]);
    await sock.close();
    expect((await counts(eve, r)).mentions).toBe(1);
  });

  test("the reader's own streams get the unread mentions with their read marker; other members' do not", async () => {
    const live = async (who: Account) => {
      const st = await openStream(streamUrl(s, who));
      st.send({ type: "resume", rooms: {} });
      await st.next((f) => f.type === "synced");
      return st;
    };
    const a = await send("@fay one", gus, r);
    const b = await send("@fay two", gus, r);
    const [mine, theirs] = [await live(fay), await live(eve)];
    mine.send({ type: "read", room_id: r, message_id: a.id });
    const receipt = { type: "read", room_id: r, user_id: fay.id, message_id: a.id };
    expect(await mine.next((f) => f.type === "read")).toEqual({ ...receipt, unread: 1, mentions: 1 });
    expect(await theirs.next((f) => f.type === "read")).toEqual(receipt);
    mine.send({ type: "read", room_id: r, message_id: b.id });
    expect(await mine.next((f) => f.type === "read")).toMatchObject({ message_id: b.id, unread: 0, mentions: 0 });
    await Promise.all([mine.close(), theirs.close()]);
  });

  test("mentions are counted per room", async () => {
    const other = await group(gus, [eve]);
    await send("@eve elsewhere", gus, other);
    expect((await counts(eve, other)).mentions).toBe(1);
    expect((await counts(eve, r)).mentions).toBe(1);
  });
});
