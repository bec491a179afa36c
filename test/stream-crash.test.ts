// The user stream across a crash: the server runs as a child process and is killed with SIGKILL; a client
// that resumes with its map of last seqs on the restarted server gets exactly what was stored after them —
// what was acknowledged just before the kill included — once each, in each room's order, then synced.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Child, SOURCE, startChild } from "./support/child.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { dropDatabase, freshDatabase, STORE } from "./support/postgres.ts";
import { sendAll, Socket, streamUrl } from "./support/socket.ts";

const dir = mkdtempSync(join(tmpdir(), "echat-stream-crash-"));
let databaseUrl = "";
let child: Child | undefined;
afterAll(async () => {
  child?.proc.kill("SIGKILL");
  if (databaseUrl) await dropDatabase(databaseUrl);
  rmSync(dir, { recursive: true, force: true });
});

async function serve(): Promise<Child> {
  if (STORE === "postgres" && !databaseUrl) databaseUrl = await freshDatabase(dir);
  const env: Record<string, string> = { ECHAT_LIMITS: "off" }; // the start-up line (INFO) names the port
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return startChild(SOURCE, ["--db", join(dir, "echat.db")], { env });
}

// A stream resumed with a map: the frames before synced, checked to be each room's next seq.
async function resume(c: Child, who: Account, rooms: Record<number, number>) {
  const st = await Socket.open(streamUrl(c, who));
  await st.next((f) => f.type === "hello");
  st.send({ type: "resume", rooms });
  const replay: any[] = [];
  for (;;) {
    const f = await st.next();
    if (f.type === "synced") break;
    replay.push(f);
  }
  return { st, replay };
}

test("after SIGKILL, a stream resumed with its map gets what was stored after it, once, in order", async () => {
  child = await serve();
  const [alice, bob] = [await register(child.url, "alice"), await register(child.url, "bob")];
  const room = await createRoom(child.url, alice, [bob]);

  // Alice follows live up to some point and keeps her map.
  const first = await resume(child, alice, {});
  const roomFrame = first.replay.find((f) => f.type === "room" && f.room_id === room);
  const map: Record<number, number> = { [room]: roomFrame.seq };
  const bobSocket = await Socket.open(`${child.wsUrl}/v1/rooms/${room}/chat?session_id=${bob.session}`);
  await sendAll(bobSocket, ["live 1", "live 2"]);
  for (const text of ["live 1", "live 2"]) map[room] = (await first.st.next((f) => f.text === text)).seq;
  first.st.close();

  // Acknowledged while alice is away, the last ones just before the kill: each must survive it.
  const acked = await sendAll(bobSocket, ["away 1", "away 2", "away 3"]);
  child.proc.kill("SIGKILL");
  await child.proc.exited;

  child = await serve();
  const bobAgain = await Socket.open(`${child.wsUrl}/v1/rooms/${room}/chat?session_id=${bob.session}`);
  await sendAll(bobAgain, ["after the restart"]);
  const second = await resume(child, alice, map);
  const texts = second.replay.filter((f) => f.type === "message").map((f) => f.text);
  expect(texts).toEqual(["away 1", "away 2", "away 3", "after the restart"]);
  const seqs = second.replay.map((f) => f.seq);
  expect(seqs).toEqual(seqs.map((_, i) => map[room]! + 1 + i)); // the room's next seqs, no gap, nothing twice
  expect(
    second.replay
      .filter((f) => f.type === "message")
      .map((f) => f.id)
      .slice(0, 3),
  ).toEqual(acked.map((m) => m.id));

  const history = await call(child.url, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: alice.session });
  expect(history.body.map((m: any) => m.text)).toEqual([
    "live 1",
    "live 2",
    "away 1",
    "away 2",
    "away 3",
    "after the restart",
  ]);
  second.st.close();
}, 60000);
