// echat's client for apps: typed REST calls and reconnecting sockets, no dependencies (Bun and browsers).
// docs/client.md is its manual.
export { newClientId } from "./client-id.ts";
export { ApiError, ERROR_CODES, type ErrorCode, NetworkError } from "./errors.ts";
export { type ClientOptions, type HistoryQuery, RestClient as EchatClient, type RoomPage } from "./rest.ts";
export { createTransport, type Request, type RequestOptions } from "./transport.ts";
export type * from "./types.ts";
