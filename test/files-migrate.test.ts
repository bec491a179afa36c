// Schema 7 -> 8: a database from before files keeps its messages, and files work after the upgrade (the new
// tables, messages.files and rooms.file_epoch made by the migration, a file secret made at the first start).
import { expect, test } from "bun:test";
import { call, createRoom, registerAll } from "./support/http.ts";
import { download, pngHeader, upload } from "./support/files.ts";
import { afterUpgradeFrom } from "./support/old-schema.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";

test("a version 7 database keeps its messages, and files work after the upgrade", async () => {
  await afterUpgradeFrom(
    7,
    async (t) => {
      const [ann, ben] = await registerAll(t.url, ["ann", "ben"]);
      const room = await createRoom(t.url, ann, [ben]);
      const sock = await Socket.open(chatUrl(t, room, ann));
      await sendAll(sock, ["before files"]);
      await sock.close();
      return { ann, ben, room };
    },
    async (t, { ann, ben, room }) => {
      const file = (await upload(t.url, ann, room, pngHeader(2, 2), { name: "a.png", type: "image/png" })).body;
      const again = await Socket.open(chatUrl(t, room, ann));
      again.send({ text: "", files: [file.id] });
      const sent = await again.next(isMessage);
      await again.close();
      const history = (await call(t.url, "GET", `/v1/rooms/${room}/messages`, { session: ben.session })).body;
      expect(history.map((m: any) => [m.text, m.files?.length ?? 0])).toEqual([
        ["before files", 0],
        ["", 1],
      ]);
      expect((await download(t.url, sent.files[0].url)).status).toBe(200);
    },
  );
}, 30_000);
