// The storage interface. Handlers and the hub see only this; SQL lives in sqlite/ and postgres/.
// Every method is async so that a networked database can sit behind the same interface.
import type { SQL } from "bun";

export type User = { id: number; login: string };
export type UserWithHash = User & { passwordHash: string };
export type UserRow = User & { createdAt: number };
export type Session = { userId: number; login: string; createdAt: number; lastUsedAt: number };

export type Message = {
  id: number;
  roomId: number;
  userId: number;
  text: string;
  clientId: string | null;
  createdAt: number; // ms since epoch
};

export type Room = { id: number; users: User[] }; // users in join order
// lastActivity: the last message's time, else the room's creation time; rooms are listed by it.
export type RoomSummary = Room & { lastMessage: Message | null; unread: number; lastActivity: number };
// A page of a user's rooms, newest activity first: those strictly before the cursor (ties by id).
export type RoomPage = { limit: number; before?: { activity: number; id: number } };
// created: false when the member set had a room already (it is returned whatever the limits say).
// room null: none was made, because full is already in maxRooms rooms, or (full null) mayCreate was false.
export type CreatedRoom = { room: Room; created: boolean } | { room: null; full: User | null };
export type RoomRules = { maxRooms: number; mayCreate: boolean };

// Idempotency, the same rule on both stores (docs/api.md): a message whose client_id its sender already
// used in the room is not stored again while the sender has stored fewer than this many other
// messages with a client_id in that room since; the earlier message is returned as a duplicate.
export const CLIENT_ID_WINDOW = 1000;

export type NewMessage = { roomId: number; userId: number; text: string; clientId: string | null; now: number };
// duplicate: the client_id was already stored; message is that earlier one (and nothing is delivered).
// prev: the room's message before this one, for stores shared by several instances, so that fan-out
// can tell a gap from a message that is merely late. null: the first, or a store only one instance
// uses (SQLite), where nothing orders by it.
export type Stored =
  | { message: Message; duplicate: true }
  | { message: Message; duplicate: false; prev: number | null };

export type Page = { limit: number; before?: number; after?: number };

export interface Store {
  createUser(login: string, folded: string, passwordHash: string, now: number): Promise<User | null>; // null: taken
  // typed: the login as the caller typed it, to find an old account kept apart under the fold (storedFold).
  findUserByLogin(folded: string, typed?: string): Promise<UserWithHash | null>;
  findUsersByIds(ids: number[]): Promise<User[]>;
  searchUsers(folded: string, limit: number): Promise<User[]>;
  listUsers(): Promise<UserRow[]>; // by id; for the CLI

  createSession(tokenHash: Uint8Array, userId: number, now: number): Promise<void>;
  findSession(tokenHash: Uint8Array): Promise<Session | null>;
  deleteSession(tokenHash: Uint8Array): Promise<void>;
  touchSession(tokenHash: Uint8Array, now: number): Promise<void>; // records last use
  // Deletes sessions last used before idleBefore or created before createdBefore; returns how many.
  purgeSessions(idleBefore: number, createdBefore: number): Promise<number>;
  // Sets the password hash and ends every session of the user but `keep` (null: every session).
  changePassword(userId: number, passwordHash: string, keep: Uint8Array | null): Promise<void>;

  // Returns the existing room when one has exactly this member set; else makes one if the rules allow
  // (no member in maxRooms rooms already). Unread counts are kept as counters (messages per room, per
  // sender, and both at each read marker), so listing rooms counts nothing.
  createRoom(memberIds: number[], now: number, rules: RoomRules): Promise<CreatedRoom>;
  findRoomForMember(roomId: number, userId: number): Promise<Room | null>;
  isMember(roomId: number, userId: number): Promise<boolean>;
  listRooms(userId: number, page: RoomPage): Promise<RoomSummary[]>;

  createMessage(input: NewMessage): Promise<Stored>;
  listMessages(roomId: number, page: Page): Promise<Message[]>; // oldest first
  // The marker after the call; a marker that would not advance writes nothing.
  markRead(roomId: number, userId: number, messageId: number): Promise<number>;

  // Stores shared by several instances: each room's newest message id, so fan-out can notice
  // messages another instance stored but never announced (it crashed, or the broker was away).
  latestMessageIds?(roomIds: number[]): Promise<Map<number, number>>;

  ping(): Promise<void>;
  // A consistent copy of the live database into a new file (SQLite only; PostgreSQL has pg_dump).
  backup?(file: string): Promise<void>;
  close(): Promise<void>;
}

// The PostgreSQL client and the database's deployment id, for what shares the database besides the
// store: the broker's LISTEN/NOTIFY transport, the shared login buckets, Redis names.
export type PostgresHandle = { sql: SQL; deployment: string };

// pg: only when the store is PostgreSQL.
export type OpenDatabase = { store: Store; pg?: PostgresHandle };
