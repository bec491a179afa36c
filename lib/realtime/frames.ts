// Frames a client sends on a room socket, dispatched by type like routes: a new frame is one entry in
// FRAMES and one function. A frame without "type" is a message.
import type { Broker } from "../broker/broker.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { type FileUrl, messageJson } from "../http/shapes.ts";
import type { Limits } from "../limits/limits.ts";
import type { Logger } from "../log.ts";
import type { Message, Store } from "../store/store.ts";
import { isObject, validClientId, validFiles, validReplyTo, validText } from "../validate.ts";
import type { ReadMarkers } from "./read-markers.ts";
import { send, sendError, type WS } from "./socket.ts";

const TYPING_EVERY_MS = 2000;

export type FrameContext = {
  store: Store;
  config: Config;
  now: () => number;
  log: Logger;
  limits: Limits;
  broker: Broker;
  lastTyping: Map<string, number>; // "room:user" -> when its last typing event went out
  reads: ReadMarkers;
  fileUrl: FileUrl;
  stored?: (m: Message) => void; // a message stored here (Web Push's queue notes it; never awaited)
};
export type Frame = Record<string, unknown>;
type FrameHandler = (ctx: FrameContext, ws: WS, frame: Frame) => unknown;

export const FRAMES: Record<string, FrameHandler> = {
  message: handleMessageFrame,
  typing: handleTypingFrame,
  read: handleReadFrame,
};

export async function handleFrame(ctx: FrameContext, ws: WS, raw: string | Buffer) {
  let frame: unknown;
  try {
    frame = JSON.parse(typeof raw === "string" ? raw : new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    return sendError(ws, "invalid_json");
  }
  if (!isObject(frame)) return sendError(ws, "invalid_json");
  const type = frame.type ?? "message";
  if (typeof type !== "string") return sendError(ws, "invalid_json");
  if (!Object.hasOwn(FRAMES, type)) return sendError(ws, "unknown_type");
  return FRAMES[type]!(ctx, ws, frame);
}

function handleMessageFrame(ctx: FrameContext, ws: WS, frame: Frame) {
  return storeMessage(ctx, ws, ws.data.roomId, frame, ws.data.events.size > 0);
}

// Store first, then the broker delivers it everywhere (this socket included). A retried client_id
// gets the stored message back, to this socket only. typed: the socket gets "type":"message" frames.
// Also a user stream's message frame (stream.ts), once it has checked the room.
export async function storeMessage(ctx: FrameContext, ws: WS, room: number, frame: Frame, typed: boolean) {
  const { store, config, now, log, limits, broker } = ctx;
  const { userId } = ws.data;
  let clientId: string | null;
  try {
    clientId = validClientId(frame.client_id);
  } catch {
    return sendError(ws, "invalid_json");
  }
  let files: string[];
  try {
    files = validFiles(frame.files);
  } catch {
    return sendError(ws, "invalid_files", clientId);
  }
  let text: string;
  try {
    // With files, the text may be empty or absent.
    const none = frame.text === "" || frame.text === undefined;
    text = files.length > 0 && none ? "" : validText(frame.text, config.maxMessageLength);
  } catch {
    return sendError(ws, "invalid_text", clientId);
  }
  let replyTo: number | null;
  try {
    replyTo = validReplyTo(frame.reply_to);
  } catch {
    return sendError(ws, "invalid_json", clientId);
  }
  if (!limits.message(userId)) return sendError(ws, "rate_limited", clientId);
  let stored;
  try {
    stored = await store.createMessage({ roomId: room, userId, text, clientId, now: now(), replyTo, files });
  } catch (e) {
    // unavailable: the database is away; room_not_found: the sender was removed; message_not_found: no
    // live message reply_to of this room; invalid_files: a file is not the sender's unattached upload to the
    // room (nothing was stored)
    if (e instanceof ApiError) return sendError(ws, e.code, clientId);
    log.error("storing a message failed", { room, error: String(e) });
    return sendError(ws, "internal_error", clientId);
  }
  if (stored.duplicate) {
    const body = messageJson(stored.message, ctx.fileUrl);
    return send(ws, typed ? { type: "message", ...body } : body);
  }
  broker.message(stored.message);
  ctx.stored?.(stored.message);
}

function handleTypingFrame(ctx: FrameContext, ws: WS) {
  sendTyping(ctx, ws, ws.data.roomId);
}

// At most one per user and room every TYPING_EVERY_MS; never echoed to the socket that sent it. Also a
// user stream's typing frame (stream.ts), once it has checked the room.
export function sendTyping({ now, broker, lastTyping }: FrameContext, ws: WS, room: number) {
  const { userId } = ws.data;
  const key = `${room}:${userId}`;
  const t = now();
  if (t - (lastTyping.get(key) ?? -Infinity) < TYPING_EVERY_MS) return;
  lastTyping.set(key, t);
  broker.event(room, "typing", { user_id: userId }, ws);
}

// Coalesced in read-markers.ts; each write's stored marker (never backwards, clamped to the newest
// message) goes to everyone, the sender too.
function handleReadFrame({ reads }: FrameContext, ws: WS, frame: Frame) {
  const id = frame.message_id;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return sendError(ws, "invalid_json");
  reads.mark(ws, ws.data.roomId, id);
}
