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
  seq: number; // its place in the room's order (see RoomFrame)
};

// direct: one per member set, membership fixed (the seed's rooms). group: named, members come and go.
export type RoomKind = "direct" | "group";
// users in join order; ownerId: a group's owner (null for direct rooms); seq: the room's newest seq.
export type Room = {
  id: number;
  users: User[];
  name: string | null;
  topic: string | null;
  kind: RoomKind;
  public: boolean;
  ownerId: number | null;
  seq: number;
};

// Every durable change of a room has a seq: 1, 2, 3 … within the room, with no gap, in commit order.
// Messages take theirs in the message writer's batch; membership and room changes are stored as events
// in the same order. users: the members after the change; added/removed: user ids; by: who did it.
export type RoomEvent =
  | { kind: "members"; roomId: number; seq: number; users: User[]; added: number[]; removed: number[]; by: number }
  | { kind: "room"; roomId: number; seq: number; room: Room; by: number };
export type RoomFrame = { kind: "message"; message: Message } | RoomEvent;
export const frameSeq = (f: RoomFrame) => (f.kind === "message" ? f.message.seq : f.seq);

// A change made: the room after it, and the events stored for it in order (none: nothing changed).
export type Changed = { room: Room; events: RoomEvent[] };
// Why a change was not made. not_found: no such room, or the actor is not a member (or, to join, it
// is not a public group); not_a_group: a direct room; full: a member would pass maxRooms (user named);
// too_many_users: the room would pass maxUsers; not_member: the user to remove is not in the room.
export type Refused =
  | { refused: "not_found" | "not_a_group" | "too_many_users" | "not_member" }
  | { refused: "full"; user: User };
export type MemberRules = { maxRooms: number; maxUsers: number };
export type NewGroup = { creatorId: number; memberIds: number[]; name: string; topic: string | null; public: boolean };
export type RoomChange = { name?: string; topic?: string | null; public?: boolean };
export type PublicRoom = { id: number; name: string; topic: string | null; memberCount: number };
export type PublicPage = { folded: string; limit: number; before?: number };
// lastActivity: the last message's time, else the room's creation time; rooms are listed by it.
export type RoomSummary = Room & { lastMessage: Message | null; unread: number; lastActivity: number };
// A page of a user's rooms, newest activity first: those strictly before the cursor (ties by id).
export type RoomPage = { limit: number; before?: { activity: number; id: number } };
// created: false when the member set had a room already (it is returned whatever the limits say).
// room null: none was made, because full is already in maxRooms rooms, or (full null) mayCreate was false.
// events: the creation's members event when it was made.
export type CreatedRoom = { room: Room; created: boolean; events: RoomEvent[] } | { room: null; full: User | null };
export type RoomRules = { maxRooms: number; mayCreate: boolean };

// Idempotency, the same rule on both stores (docs/api.md): a message whose client_id its sender already
// used in the room is not stored again while the sender has stored fewer than this many other
// messages with a client_id in that room since; the earlier message is returned as a duplicate.
export const CLIENT_ID_WINDOW = 1000;

export type NewMessage = { roomId: number; userId: number; text: string; clientId: string | null; now: number };
// duplicate: the client_id was already stored; message is that earlier one (and nothing is delivered).
// A new message's place in the room is its seq (the one before it is seq - 1).
export type Stored = { message: Message; duplicate: boolean };

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
  // Groups: never de-duplicated; creatorId first and owner. null: mayCreate was false or (full) a member
  // is in maxRooms rooms already.
  createGroup(group: NewGroup, now: number, rules: RoomRules): Promise<CreatedRoom>;
  // The changes below run in the room's order (each stores one event, or none when nothing changes).
  // by: the acting user, who must be a member (else not_found); the caller checked what by may do.
  updateRoom(roomId: number, by: number, change: RoomChange, now: number): Promise<Changed | Refused>;
  addMembers(
    roomId: number,
    by: number,
    userIds: number[],
    now: number,
    rules: MemberRules,
  ): Promise<Changed | Refused>;
  // A member leaves (by === userId) or is removed. The owner leaving passes ownership to the member who
  // joined first; the last member leaving archives the group (kept, listed nowhere). room.users is then [].
  removeMember(roomId: number, userId: number, by: number, now: number): Promise<Changed | Refused>;
  // A public group, joined by userId itself (not_found for anything else).
  joinRoom(roomId: number, userId: number, now: number, rules: MemberRules): Promise<Changed | Refused>;
  // Public groups whose folded name contains `folded`, newest first, ids below `before`.
  listPublicRooms(page: PublicPage): Promise<PublicRoom[]>;
  // The room's durable frames after seq, in seq order, at most limit. Found through (room_id, id) for
  // messages (within a room id order is seq order) and (room_id, seq) for events; the messages' start
  // costs a walk over as many rows as follow afterSeq, so a caller checks latestSeqs first when the
  // gap may be long (resume does).
  listFrames(roomId: number, afterSeq: number, limit: number): Promise<RoomFrame[]>;
  // Each room's newest seq. Several instances: fan-out notices frames another instance stored but
  // never announced (it crashed, or the broker was away). SQLite: may count frames still being answered.
  latestSeqs(roomIds: number[]): Promise<Map<number, number>>;

  createMessage(input: NewMessage): Promise<Stored>;
  listMessages(roomId: number, page: Page): Promise<Message[]>; // oldest first
  // The marker after the call; a marker that would not advance writes nothing.
  markRead(roomId: number, userId: number, messageId: number): Promise<number>;

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
