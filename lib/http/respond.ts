// HTTP plumbing shared by all handlers: JSON responses, bounded body reading, method tables.
import type { Server as BunServer } from "bun";
import { ApiError, type ErrorCode, errorBody } from "../errors.ts";
import { isObject, type Json } from "../validate.ts";

export const MAX_BODY = 64 * 1024;
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: headers ? { ...JSON_TYPE, ...headers } : JSON_TYPE });
}

export function errorResponse(code: ErrorCode, message?: string, headers?: Record<string, string>): Response {
  const e = new ApiError(code, message, headers);
  return json(errorBody(code, e.message), e.status, headers);
}

// Reads at most MAX_BODY bytes; a longer body is refused without reading the rest.
export async function readJson(req: Request): Promise<Json> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY) throw new ApiError("payload_too_large");
  let bytes: Uint8Array;
  if (req.headers.has("content-length")) {
    bytes = await req.bytes();
  } else {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of req.body ?? []) {
      size += chunk.byteLength;
      if (size > MAX_BODY) throw new ApiError("payload_too_large");
      chunks.push(chunk);
    }
    bytes = Buffer.concat(chunks);
  }
  if (bytes.byteLength > MAX_BODY) throw new ApiError("payload_too_large");
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError("invalid_json");
  }
  if (!isObject(body)) throw new ApiError("invalid_json", "body must be a JSON object");
  return body;
}

export type Server = BunServer<any>;
export type Req = Request & { params: Record<string, string> };
export type Handler = (req: Req, server: Server) => Response | undefined | Promise<Response | undefined>;
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];

// A route's method table with 405 for every method it does not handle.
export function methods(handlers: Partial<Record<Method, Handler>>): Record<Method, Handler> {
  if (handlers.GET && !handlers.HEAD) handlers = { ...handlers, HEAD: handlers.GET };
  const allowed = Object.keys(handlers).join(", ");
  const refuse: Handler = () => errorResponse("method_not_allowed", undefined, { allow: allowed });
  return Object.fromEntries(METHODS.map((m) => [m, handlers[m] ?? refuse])) as Record<Method, Handler>;
}
