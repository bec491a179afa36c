import type { ClientSpec } from "./load.ts";

// Sessions and rooms for the scenarios, made through the real API; and the paths each target
// takes, so that a scenario reads the same against the server and the baseline.
export type World = {
  tokens: string[]; // user i's session; users 0..99 chat, user 100 is in 20 rooms
  fanRooms: number[]; // room r holds users 10r..10r+9
  bigRoom: number; // users 0..99
  ingestRoom: number; // users 0..50
  listUser: string; // token of the user in 20 rooms
  historyRoom: number; // fanRooms[0], filled by the chat scenarios
  streamTokens: string[]; // 100 more users, each in exactly one room: streamRooms[r] holds 10r..10r+9
  streamRooms: number[];
};

// A POST that must answer 200: its JSON body, else an error naming the path, the status and the body.
export async function post(base: string, path: string, body: unknown, token?: string) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { "x-session-id": token } : {}) },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as any;
}

export async function setupWorld(base: string): Promise<World> {
  const tag = Date.now().toString(36);
  // 0..100 as above; 101..200 the stream users (a stream subscribes to every room of its user).
  const logins = Array.from({ length: 201 }, (_, i) => `b${tag}u${i}`);
  const tokens: string[] = [];
  for (let i = 0; i < logins.length; i += 20) {
    const part = logins
      .slice(i, i + 20)
      .map((login) => post(base, "/v1/register", { login, password: "bench-password" }));
    for (const r of await Promise.all(part)) tokens.push(r.session_id);
  }
  const room = async (owner: number, members: number[]) =>
    (
      await post(
        base,
        "/v1/rooms",
        { users: members.filter((m) => m !== owner).map((m) => ({ login: logins[m] })) },
        tokens[owner],
      )
    ).id as number;
  const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
  const fanRooms = await Promise.all(range(0, 10).map((r) => room(10 * r, range(10 * r, 10))));
  const bigRoom = await room(0, range(0, 100));
  const ingestRoom = await room(0, range(0, 51));
  await Promise.all(range(0, 20).map((k) => room(100, [100, k])));
  const streamRooms = await Promise.all(range(0, 10).map((r) => room(101 + 10 * r, range(101 + 10 * r, 10))));
  return {
    tokens: tokens.slice(0, 101),
    fanRooms,
    bigRoom,
    ingestRoom,
    listUser: tokens[100]!,
    historyRoom: fanRooms[0]!,
    streamTokens: tokens.slice(101),
    streamRooms,
  };
}

// Which room a scenario means, as "fan" + index, "big" or "ingest".
export type RoomRef = { kind: "fan"; index: number } | { kind: "big" } | { kind: "ingest" };

export function serverPath(w: World) {
  return (room: RoomRef, user: number) => {
    const id = room.kind === "fan" ? w.fanRooms[room.index]! : room.kind === "big" ? w.bigRoom : w.ingestRoom;
    return `/v1/rooms/${id}/chat?session_id=${w.tokens[user]}`;
  };
}

export function baselinePath(room: RoomRef, user: number) {
  const id = room.kind === "fan" ? `f${room.index}` : room.kind;
  return `/v1/rooms/${id}/chat?user=${user}`;
}

// Scenario 1's fan-out over user streams (WS /v1/stream), sending with room_id, by the stream users:
// each in exactly one room of 10. The baseline has no streams: its clients are scenario 1's room
// sockets, sent the stream's frames (it reads only "text"), so the load generator does the same work.
export function serverStreamSpec(w: World) {
  return (index: number, user: number, sender: boolean): ClientSpec => ({
    path: `/v1/stream?session_id=${w.streamTokens[user]}`,
    sender,
    room: w.streamRooms[index]!,
    resume: true,
  });
}

export function baselineStreamSpec(index: number, user: number, sender: boolean): ClientSpec {
  return { path: baselinePath({ kind: "fan", index }, user), sender, room: index };
}
