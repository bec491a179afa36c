// Schema 7 -> 8: a database from before files keeps its messages, and files work after the upgrade (the new
// tables, messages.files and rooms.file_epoch made by the migration, a file secret made at the first start).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "bun:test";
import { call, createRoom, registerAll } from "./support/http.ts";
import { download, pngHeader, upload } from "./support/files.ts";
import { rewindTestDatabase } from "./support/old-schema.ts";
import { dropDatabase, freshDatabase, STORE } from "./support/postgres.ts";
import { startServer } from "./support/server.ts";
import { chatUrl, isMessage, sendAll, Socket } from "./support/socket.ts";

test("a version 7 database keeps its messages, and files work after the upgrade", async () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-v7-"));
  const databaseUrl = STORE === "postgres" ? await freshDatabase(dir) : "";
  let t = await startServer({ dir, config: { databaseUrl } });
  try {
    const [ann, ben] = await registerAll(t.url, ["ann", "ben"]);
    const room = await createRoom(t.url, ann, [ben]);
    const sock = await Socket.open(chatUrl(t, room, ann));
    await sendAll(sock, ["before files"]);
    await sock.close();
    await t.stop();
    await rewindTestDatabase(7, t.db, databaseUrl);
    t = await startServer({ dir, config: { databaseUrl } });
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
  } finally {
    await t.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
