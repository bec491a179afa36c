// echat's client for apps: typed REST calls and reconnecting sockets, no dependencies (Bun and browsers).
// docs/client.md is its manual.
export { newClientId } from "./client-id.ts";
export { type Backoff, backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
export { CLOSE_CODES, type CloseCode, reconnectsAfter } from "./close-codes.ts";
export { Connection, type ConnectionHooks, type ConnectionState, type Ended, type StateChange } from "./connection.ts";
export { ApiError, ERROR_CODES, type ErrorCode, NetworkError, SocketClosed } from "./errors.ts";
export { Outbox } from "./outbox.ts";
export {
  type RoomApi,
  RoomSocket,
  type RoomSocketEvents,
  type RoomSocketOptions,
  roomSocketUrl,
} from "./room-socket.ts";
export {
  type ClientOptions,
  type HistoryQuery,
  RestClient as EchatClient,
  type RoomPage,
  type UploadOptions,
} from "./rest.ts";
export { createTransport, type Request, type RequestOptions } from "./transport.ts";
export {
  type StreamApi,
  type StreamMessage,
  UserStream,
  type UserStreamEvents,
  type UserStreamOptions,
} from "./user-stream.ts";
export type * from "./types.ts";
