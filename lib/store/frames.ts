// The room's order read back, shared by both dialects.
import type { Message, RoomEvent, RoomFrame } from "./store.ts";

// Messages and events, each in seq order, merged into one list of at most limit frames.
export function mergeFrames(messages: Message[], events: RoomEvent[], limit: number): RoomFrame[] {
  const out: RoomFrame[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < messages.length || j < events.length)) {
    const m = messages[i];
    const e = events[j];
    if (m && (!e || m.seq < e.seq)) out.push({ kind: "message", message: messages[i++]! });
    else out.push(events[j++]!);
  }
  return out;
}
