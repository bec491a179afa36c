// The shared broker's wire format: one JSON object per publication, on one channel for all rooms.
// origin: the publishing instance, which has delivered it to its own sockets already.
import type { Message, RoomEvent } from "../store/store.ts";
import type { EventBody, EventKind, Kick } from "./broker.ts";

export type Wire =
  // message: absent when it is too large for the transport; the receiver reads it from the store
  | { origin: string; kind: "message"; room: number; seq: number; message?: Message }
  // roomEvent: likewise absent when too large (an edit's text, a members change's users); eventKind then
  // says which, so an instance that does not watch the room still reads a members change (it may add a user
  // whose stream is there)
  | {
      origin: string;
      kind: "roomEvent";
      room: number;
      seq: number;
      roomEvent?: RoomEvent;
      eventKind?: RoomEvent["kind"];
    }
  | { origin: string; kind: "event"; room: number; event: EventKind; body: EventBody }
  | { origin: string; kind: "presence"; room: number }
  | { origin: string; kind: "kick"; kick: Kick };

export function decode(payload: string): Wire | undefined {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}
