// Search follows message changes (through the REST endpoints): an edited message is found by its new
// words only, a deleted one never again, and on SQLite the index itself holds no word of a deleted text.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

let s: TestServer;
let ann: Account, ben: Account;
let room: number;

beforeAll(async () => {
  s = await startServer();
  [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
  room = await createRoom(s.url, ann, [ben]);
});
afterAll(() => s.stop());

async function send(text: string) {
  const sock = await Socket.open(chatUrl(s, room, ann));
  const [m] = await sendAll(sock, [text]);
  await sock.close();
  return m;
}
const search = async (q: string) =>
  (await call(s.url, "GET", `/v1/search?q=${encodeURIComponent(q)}`, { session: ben.session })).body.results;

// The words SQLite's index holds (a read-only look at the file; the API is what the other tests use).
function indexedWords(): string[] {
  const db = new Database(s.db, { readonly: true });
  try {
    db.run("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, messages_search, 'row')");
    return db
      .query<{ term: string }, []>("SELECT term FROM temp.words")
      .all()
      .map((r) => r.term);
  } finally {
    db.close();
  }
}

test("an edited message is found by its new words, with their highlights, and no longer by the old", async () => {
  const m = await send("meet at the lighthouse");
  expect((await search("lighthouse")).map((r: any) => r.message.id)).toEqual([m.id]);
  const edit = await call(s.url, "PATCH", `/v1/rooms/${room}/messages/${m.id}`, {
    session: ann.session,
    body: { text: "Meet at the harbour instead" },
  });
  expect(edit.status).toBe(200);
  expect(await search("lighthouse")).toEqual([]);
  const [hit] = await search("harbour");
  expect(hit.message).toMatchObject({ id: m.id, text: "Meet at the harbour instead" });
  expect(hit.message.edited_at).toBeString();
  expect(hit.highlights).toEqual([[12, 19]]);
  if (STORE === "sqlite") expect(indexedWords()).not.toContain("lighthouse");
});

test("a deleted message is never found again, and its words leave SQLite's index", async () => {
  const m = await send("the quokka password is swordfish");
  const kept = await send("another quokka");
  expect((await search("quokka")).map((r: any) => r.message.id)).toEqual([kept.id, m.id]);
  const del = await call(s.url, "DELETE", `/v1/rooms/${room}/messages/${m.id}`, { session: ann.session });
  expect(del.status).toBe(200);
  expect(await search("swordfish")).toEqual([]);
  expect((await search("quokka")).map((r: any) => r.message.id)).toEqual([kept.id]);
  expect(await search('"password is"')).toEqual([]);
  if (STORE === "sqlite") expect(indexedWords()).not.toContain("swordfish");
});

test("a message stored with mentions is indexed like any other", async () => {
  const m = await send("@ben look at the aardvark");
  expect(m.mentions).toEqual([ben.id]);
  const [hit] = await search("aardvark");
  expect(hit.message).toMatchObject({ id: m.id, mentions: [ben.id] });
  expect(hit.highlights).toEqual([[17, 25]]);
});
