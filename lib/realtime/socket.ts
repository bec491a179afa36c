// A room WebSocket as the realtime side sees it: its identity (set before the upgrade) and replies to it.
import type { ServerWebSocket } from "bun";
import { type ErrorCode, errorBody } from "../errors.ts";
import type { Event } from "./topics.ts";

// stream: a user stream (WS /v1/stream, stream.ts), whose roomId is 0 and events empty.
export type SocketData = {
  stream: boolean;
  userId: number;
  login: string;
  roomId: number;
  tokenHash: string; // hex
  events: ReadonlySet<Event>;
  after: number | undefined; // ?after=: the socket reads its backlog before going live
  release: () => void; // frees the connection slot (limits.openSocket)
};
export type WS = ServerWebSocket<SocketData>;

export const send = (ws: WS, body: unknown) => ws.send(JSON.stringify(body));
// The catalogue's messages speak of HTTP bodies; a frame's error names the frame (the code stays the same).
const FRAME_MESSAGES: Partial<Record<ErrorCode, string>> = {
  invalid_json: "Frame is not a JSON object with the required fields",
};
export const sendError = (ws: WS, code: ErrorCode, clientId?: string | null) => {
  const body = errorBody(code, FRAME_MESSAGES[code]);
  return send(ws, clientId ? { ...body, client_id: clientId } : body);
};
