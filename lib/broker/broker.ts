// Fan-out between instances. The hub stores a message, then hands it to the broker, which delivers it
// to this instance's sockets and to every other instance's. One instance: the in-memory broker below.
// Several: a shared broker over a transport (Redis pub/sub in broker-redis.ts, PostgreSQL
// LISTEN/NOTIFY in broker-postgres.ts), with a per-room sequencer so sockets see ids in order, no gaps.
import type { Message } from "../store/store.ts";

export type EventKind = "typing" | "presence" | "read";
// Sockets to close with 4001 everywhere: one session's (logout), or a user's but one session's
// (password change). Token hashes as hex.
export type Kick = { session: string } | { user: number; keep: string };

// What the hub offers the broker: delivery to this instance's sockets.
export type Local = {
  message(m: Message): void;
  event(room: number, kind: EventKind, body: object): void; // typing or read from another instance
  presenceChanged(room: number): void; // someone came or went elsewhere: recompute and announce
  interested(room: number): boolean; // any socket here in that room
  onlinePairs(): Array<[room: number, user: number]>; // this instance's online users, for heartbeats
  kick(k: Kick): void; // a logout or password change on another instance
};

export interface Broker {
  start(local: Local): Promise<void>;
  // After storing: deliver everywhere. prev is the room's previous id (from a shared store).
  message(m: Message, prev: number | null | undefined): void;
  // Before a socket subscribes to a room: from here on this instance delivers every message of it.
  watch(room: number): void | Promise<void>;
  // The last id delivered here for the room (undefined: one instance, no ordering needed).
  position(room: number): number | undefined;
  // Typing and read events go to the OTHER instances; the hub publishes them locally itself.
  event(room: number, kind: Exclude<EventKind, "presence">, body: object): void;
  // Logout or password change here: the OTHER instances close those sockets too.
  kick(k: Kick): void;
  // A user's first socket here opened, or last closed.
  presence(room: number, user: number, online: boolean): void;
  // The room's online users, everywhere. here() gives this instance's, asked for last so that the
  // answer is as fresh as possible (this instance's own entries in the shared set may lag).
  online(room: number, here: () => number[]): number[] | Promise<number[]>;
  close(): Promise<void>;
}

// What a shared broker needs from Redis or PostgreSQL.
export type Transport = {
  name: string;
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
