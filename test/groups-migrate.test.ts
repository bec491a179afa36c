// Schema 5 -> 6 (groups and the room's order): a database from before reads as if made today. Each
// room's creation becomes its seq 1, its messages the following seqs in id order, and new frames go on
// from there. Opening the file or database is only to rewind it; assertions go through the API.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "bun:test";
import { call, createRoom, registerAll } from "./support/http.ts";
import { rewindTestDatabase } from "./support/old-schema.ts";
import { dropDatabase, freshDatabase, STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, sendAll, Socket } from "./support/socket.ts";

async function columns(t: TestServer, table: string): Promise<string[]> {
  if (STORE === "postgres") {
    const sql = new SQL({ url: t.databaseUrl, max: 1 });
    const rows = await sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table}
      ORDER BY ordinal_position`;
    await sql.close();
    return rows.map((r: any) => r.column_name);
  }
  const db = new Database(t.db, { readonly: true });
  const names = db.query(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[];
  db.close();
  return names.map((r) => r.name);
}

test("a version 5 database gets the room's order: creation is seq 1, messages follow in id order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-v5-"));
  const databaseUrl = STORE === "postgres" ? await freshDatabase(dir) : "";
  let t = await startServer({ dir, config: { databaseUrl } });
  try {
    const [ann, ben] = await registerAll(t.url, ["ann", "ben"]);
    const room = await createRoom(t.url, ann, [ben]);
    const sock = await Socket.open(chatUrl(t, room, ann));
    await sendAll(sock, ["one", "two", "three"]);
    await sock.close();
    const fresh = { rooms: await columns(t, "rooms"), messages: await columns(t, "messages") };
    await t.stop();
    await rewindTestDatabase(5, t.db, databaseUrl);
    t = await startServer({ dir, config: { databaseUrl } });
    expect({ rooms: await columns(t, "rooms"), messages: await columns(t, "messages") }).toEqual(fresh);
    const history = await call(t.url, "GET", `/v1/rooms/${room}/messages`, { session: ben.session });
    expect(history.body.map((m: any) => [m.text, m.seq])).toEqual([
      ["one", 2],
      ["two", 3],
      ["three", 4],
    ]);
    expect((await call(t.url, "GET", `/v1/rooms/${room}`, { session: ben.session })).body).toMatchObject({
      kind: "direct",
      seq: 4,
    });
    const replay = await Socket.open(chatUrl(t, room, ben, { events: "members", after: 0 }));
    expect(await replay.next()).toEqual({
      type: "members",
      room_id: room,
      seq: 1,
      users: [
        { id: ann.id, login: "ann" },
        { id: ben.id, login: "ben" },
      ],
      added: [ann.id, ben.id],
      removed: [],
      by: ann.id,
    });
    expect((await replay.take(3)).map((f) => f.seq)).toEqual([2, 3, 4]);
    const [next] = await sendAll(replay, ["four"]);
    expect(next.seq).toBe(5);
    await replay.close();
  } finally {
    await t.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
