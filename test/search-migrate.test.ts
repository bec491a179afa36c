// Schema 6 -> 7: messages stored before the search index existed are found after the upgrade (SQLite
// rebuilds the FTS5 index, PostgreSQL fills messages.search), and new ones are indexed as they come.
// Opening the file or database is only to rewind it; assertions go through the API.
import { expect, test } from "bun:test";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { afterUpgradeFrom } from "./support/old-schema.ts";
import type { TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

const search = async (t: TestServer, who: Account, q: string) =>
  (await call(t.url, "GET", `/v1/search?q=${encodeURIComponent(q)}`, { session: who.session })).body.results.map(
    (r: any) => [r.message.text, r.highlights],
  );

test("a version 6 database's messages are searchable after the upgrade", async () => {
  await afterUpgradeFrom(
    6,
    async (t) => {
      const [ann, ben] = await registerAll(t.url, ["ann", "ben"]);
      const room = await createRoom(t.url, ann, [ben]);
      const sock = await Socket.open(chatUrl(t, room, ann));
      await sendAll(sock, ["Старое сообщение о погоде", "an old note about the weather"]);
      await sock.close();
      return { ann, ben, room };
    },
    async (t, { ann, ben, room }) => {
      expect(await search(t, ben, "погоде")).toEqual([["Старое сообщение о погоде", [[19, 25]]]]);
      expect(await search(t, ben, '"old note"')).toEqual([
        [
          "an old note about the weather",
          [
            [3, 6],
            [7, 11],
          ],
        ],
      ]);
      const again = await Socket.open(chatUrl(t, room, ben));
      await sendAll(again, ["a new note"]);
      await again.close();
      expect((await search(t, ann, "note")).map(([text]: [string]) => text)).toEqual([
        "a new note",
        "an old note about the weather",
      ]);
    },
  );
}, 30_000);
