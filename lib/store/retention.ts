// Retention's rules, written once for both stores (sqlite/retention.ts, postgres/retention.ts). A round cuts one
// room's oldest frames as a prefix of its order: the expired messages (oldest first, up to the first one still
// young) and the room events before the newest of them, at most `limit` of each. So what a room keeps is always
// "every frame from seq F on" (HistoryStart), and a resume from before F learns the history was cut.
import type { Message } from "./store.ts";

export type Cut = {
  messages: Message[]; // to delete, oldest first
  eventsUpTo: number; // room events with a seq at or below it go too
  roomDone: boolean; // nothing more of the room is expired
};

// oldest: the room's oldest messages (tombstones too), at most limit; cutoff: ms, older ones expired.
export function expiredPrefix(oldest: Message[], cutoff: number, limit: number) {
  const n = oldest.findIndex((m) => m.createdAt >= cutoff);
  const messages = n < 0 ? oldest : oldest.slice(0, n);
  return { messages, complete: messages.length < limit };
}

// eventSeqs: the seqs of the room's events below the newest expired message's, oldest first, at most limit.
// When there are that many, the cut ends at the last of them (the messages after it wait for the next round).
export function boundCut(expired: ReturnType<typeof expiredPrefix>, eventSeqs: number[], limit: number): Cut {
  const newest = expired.messages.at(-1)!.seq;
  if (eventSeqs.length < limit)
    return { messages: expired.messages, eventsUpTo: newest - 1, roomDone: expired.complete };
  const upTo = eventSeqs.at(-1)!;
  return { messages: expired.messages.filter((m) => m.seq < upTo), eventsUpTo: upTo, roomDone: false };
}

export type MemberMarker = { userId: number; lastReadId: number };
// What the unread counters (schema.sql) lose with the cut's live messages, per member: those it sent, those at
// or before its read marker, and of those its own. Members it changes nothing for are left out.
export type Uncount = { userId: number; sent: number; read: number; readSent: number };

export function uncounts(live: Message[], members: MemberMarker[]): Uncount[] {
  const out: Uncount[] = [];
  for (const { userId, lastReadId } of members) {
    const u = { userId, sent: 0, read: 0, readSent: 0 };
    for (const m of live) {
      const own = m.userId === userId ? 1 : 0;
      u.sent += own;
      if (m.id <= lastReadId) {
        u.read++;
        u.readSent += own;
      }
    }
    if (u.sent || u.read) out.push(u);
  }
  return out;
}

// Each cut message's mentions rows (user, message), for the live ones that mention someone.
export const mentionRows = (live: Message[]): [number, number][] =>
  live.flatMap((m) => (m.mentions ?? []).map((userId): [number, number] => [userId, m.id]));
