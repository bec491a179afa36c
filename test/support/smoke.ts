// The black-box smoke test: register, room, a message over WebSocket, history; for a server started as a
// child process from source or as the compiled binary.
import { expect } from "bun:test";
import { call, createRoom, register } from "./http.ts";
import { isMessage, Socket } from "./socket.ts";

export async function smoke(url: string) {
  const wsUrl = url.replace(/^http/, "ws");
  const [alice, bob] = await Promise.all([register(url, "alice"), register(url, "bob")]);
  const room = await createRoom(url, alice!, [bob!]);
  const [a, b] = await Promise.all(
    [alice!, bob!].map((u) => Socket.open(`${wsUrl}/v1/rooms/${room}/chat?session_id=${u.session}`)),
  );
  a!.send({ text: "hello from the binary", client_id: "smoke-1" });
  const ack = await a!.next((f) => f.client_id === "smoke-1");
  const got = await b!.next(isMessage);
  expect(got).toEqual(ack);
  expect(ack).toMatchObject({ text: "hello from the binary", user_id: alice!.id, room_id: room });
  const history = await call(url, "GET", `/v1/rooms/${room}/messages`, { session: bob!.session });
  expect(history.status).toBe(200);
  expect(history.body).toEqual([ack]);
  await Promise.all([a!.close(), b!.close()]);
}
