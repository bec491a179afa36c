// Opt-in events a socket may ask for (?events=), and the pub/sub topic names, which the hub owns.
// members: membership and room changes; changes: message edits, deletes and reactions (both durable frames
// in the room's order; with either, after= counts in seq).
import type { RoomEvent } from "../store/store.ts";

export const EVENTS = ["typing", "presence", "read", "members", "changes"] as const;
export type Event = (typeof EVENTS)[number];

// The opt-in that carries a durable event: membership and room changes, or a message's changes.
export const optInOf = (e: RoomEvent): "members" | "changes" =>
  e.kind === "members" || e.kind === "room" ? "members" : "changes";

// The hub owns topic names. Plain messages go to one topic, typed ones (for clients that opted in
// to events) to another, and each event kind has its own, so a socket gets exactly what it asked for.
export const topic = {
  plain: (room: number) => `r${room}`,
  typed: (room: number) => `r${room}:m`,
  event: (room: number, e: Event) => `r${room}:${e}`,
};
