// The broker contract (modelled on centrifuge's Broker + BrokerEventHandler).
//
// Every delivery to sockets leaves through the Broker and comes back through the BrokerEventHandler,
// on every instance, the one it started on included: messages, typing, read markers, presence changes
// and kicks. The realtime side never publishes to its own sockets behind the broker's back.
// - One instance: the in-memory broker (memory.ts) calls the handler back at once, synchronously.
// - Several: a shared broker (shared.ts) over a transport (Redis pub/sub in redis.ts, PostgreSQL
//   LISTEN/NOTIFY in postgres.ts) calls this instance's handler and publishes to the others, whose
//   brokers call theirs. A per-room sequencer (sequencer.ts) hands durable frames (messages,
//   membership and room changes) to the handler in the room's order (seq) with no gaps, reading
//   what the transport lost from the store.
// The handler is called exactly once per delivery per instance. Publishing does not wait for other
// instances: if the transport is away, this instance's sockets are still served.
import type { Message, RoomEvent } from "../store/store.ts";

export type EventKind = "typing" | "read" | "settings";
// typing: { user_id }; read: { user_id, message_id, unread, mentions } — the frame's body without type and
// room_id (unread and mentions: the room's unread count and unread mentions for user_id, for that user's own
// streams only); settings: { user_id, notify }, user_id's settings in the room changed, for that user's own
// streams only (without user_id).
export type EventBody = { user_id: number; message_id?: number; unread?: number; mentions?: number; notify?: string };

// Sockets to close, on every instance. Token hashes as hex.
// - session: one session's (logout), with 4001
// - user + keep: every socket of the user but those of session `keep` (password change), with 4001
// - room + user: the user's sockets in that room (removed from the room), with 4003
// - user alone: every socket of the user (disabled or deleted), with 4001
// Every instance also forgets the sessions a kick ends from its session cache (auth/session-cache.ts).
export type Kick =
  | { session: string }
  | { user: number; keep: string }
  | { room: number; user: number }
  | { user: number };

// What the realtime side implements: delivery to this instance's sockets.
export interface BrokerEventHandler {
  message(m: Message): void; // in the room's order (seq) with room events, each once
  roomEvent(e: RoomEvent): void; // a membership or room change, likewise
  // except: the local socket the event came from, handed back as given (typing is not echoed to it);
  // never leaves this instance, so deliveries from other instances have none.
  event(room: number, kind: EventKind, body: EventBody, except?: object): void;
  presenceChanged(room: number): void; // someone came or went (here or elsewhere): recompute and announce
  kick(k: Kick): void;
  interested(room: number): boolean; // any socket here in that room (or reading its backlog)
  onlinePairs(): Array<[room: number, user: number]>; // this instance's online users, for heartbeats
}

export interface Broker {
  start(handler: BrokerEventHandler): Promise<void>;
  // After storing: deliver everywhere, in the room's order (the frame before is seq - 1). One instance
  // (SQLite) publishes in that order already: its one writer answers in commit order.
  message(m: Message): void;
  roomEvent(e: RoomEvent): void;
  // Typing and read markers, everywhere.
  event(room: number, kind: EventKind, body: EventBody, except?: object): void;
  // Close sockets everywhere.
  kick(k: Kick): void;
  // A user's first socket here opened (online) or last closed: recorded, then presenceChanged everywhere.
  presence(room: number, user: number, online: boolean): void;
  // Before a socket subscribes to a room: from here on this instance delivers every message of it.
  watch(room: number): void | Promise<void>;
  // The last seq delivered here for the room (undefined: one instance, no ordering needed).
  position(room: number): number | undefined;
  // The room's online users, everywhere. here() gives this instance's, asked for last so that the
  // answer is as fresh as possible (this instance's own entries in the shared set may lag).
  online(room: number, here: () => number[]): number[] | Promise<number[]>;
  // For the start-up line: what carries the fan-out, and whether it is connected yet.
  describe(): string;
  close(): Promise<void>;
}

// What a shared broker needs from Redis or PostgreSQL.
export type Transport = {
  name: string;
  connected(): boolean; // at this moment, for the start-up line
  maxPayload: number; // bytes; a larger message travels without its text and is read from the store
  publish(payload: string): Promise<void>;
  // onReconnect: payloads may have been lost while disconnected.
  subscribe(onPayload: (payload: string) => void, onReconnect: () => void): Promise<void>;
  presence: {
    set(room: number, key: string, expiresAt: number): Promise<void>;
    remove(room: number, key: string): Promise<void>;
    list(room: number, now: number): Promise<string[]>; // keys not expired
  };
  close(): Promise<void>;
};
