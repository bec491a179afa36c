// The storage interface. Handlers and the hub see only this; SQL lives in sqlite/ and postgres/.
// Every method is async so that a networked database can sit behind the same interface.
import type { SQL } from "bun";
import type { SearchQuery } from "../search/query.ts";
import type { SchemaUpgrade } from "./migrations.ts";

export type User = { id: number; login: string };
export type UserWithHash = User & { passwordHash: string; disabled: boolean };
export type UserRow = User & { createdAt: number };
export type Session = { userId: number; login: string; createdAt: number; lastUsedAt: number };
// An account as admins and /v1/info see it.
export type Account = User & { admin: boolean; disabled: boolean; createdAt: number; lastSeenAt: number | null };
// A page of accounts for admins, newest first: login containing `folded` (all when empty), ids below `before`.
export type AccountPage = { folded: string; limit: number; before?: number };
export type AccountChange = { disabled?: boolean; admin?: boolean };
// last_admin: the change would leave no enabled admin (store/accounts.ts).
export type AccountResult = "ok" | "not_found" | "last_admin";

// publicId: what the user sees and ends a session by; never the token or its hash.
// A browser's Web Push subscription, registered by a session (and gone with it).
export type PushSubscriptionRow = {
  endpoint: string;
  p256dh: string; // base64url, a 65-byte uncompressed P-256 point
  auth: string; // base64url, 16 bytes
  tokenHash: Uint8Array; // the registering session's
  userId: number;
  createdAt: number;
};

// Web Push still to send (lib/push/): what the flusher hands the store, one per room with news. messageId: the
// room's newest message, for members whose level is `all`; mentions: per mentioned member (not the sender), the
// newest message mentioning them, for members at `all` or `mentions`.
export type PushNews = { roomId: number; messageId: number; senderId: number; mentions: Array<[number, number]> };
// A claimed row of the queue: one subscription's pending push for a room. attempts: failed sends so far.
// claimedUntil: the claim's end, which names it: a job settles its row only while the claim is still this one.
export type PushJob = { endpoint: string; roomId: number; messageId: number; attempts: number; claimedUntil: number };
// What a send needs, read as it goes: the subscription's keys, the member's state in the room now (level in
// effect, read marker, unread count), the room, the message (a tombstone when deleted) and its sender's login.
export type PushTarget = {
  userId: number;
  p256dh: string;
  auth: string;
  notify: NotifyLevel;
  lastReadId: number;
  unread: number;
  roomKind: RoomKind;
  roomName: string | null;
  message: Message;
  senderLogin: string;
};

export type NewSession = {
  tokenHash: Uint8Array;
  publicId: string;
  userId: number;
  now: number;
  userAgent: string | null;
  address: string | null;
};
export type SessionRow = {
  publicId: string;
  tokenHash: Uint8Array;
  createdAt: number;
  lastUsedAt: number;
  userAgent: string | null;
  address: string | null;
};

// createdBy null: made by the CLI or the first-admin setup; admin: the setup link (expiresAt null).
export type NewInvite = {
  codeHash: Uint8Array;
  publicId: string;
  createdBy: number | null;
  roomId: number | null;
  admin: boolean;
  uses: number;
  expiresAt: number | null;
  now: number;
};
export type Invite = {
  publicId: string;
  createdBy: number | null;
  roomId: number | null;
  usesLeft: number;
  expiresAt: number | null;
  createdAt: number;
};
export type NewUser = { login: string; folded: string; passwordHash: string; now: number };
// setupOnly: only the first-admin setup link counts (registration closed).
// invalid: unknown, expired, used up, revoked, or a setup link once an admin exists; taken: the login is.
// roomId: the invite's room when the new user joined it; events: that join (a members change in the room's order).
export type Redeemed = { user: User; roomId: number | null; events: RoomEvent[] } | "invalid" | "taken";

// Reactions on a message: emoji in the order first used, each with its users in reaction order.
export type Reaction = { emoji: string; userIds: number[] };

export type Message = {
  id: number;
  roomId: number;
  userId: number;
  text: string;
  clientId: string | null;
  createdAt: number; // ms since epoch
  seq: number; // its place in the room's order (see RoomFrame)
  // Present only when set (as in the API's JSON): the last edit, the message answered, the members it
  // mentions (non-empty), its reactions (non-empty), and deleted: a tombstone (text "") that only a
  // replayed edit event ever shows.
  editedAt?: number;
  replyTo?: number;
  mentions?: number[];
  reactions?: Reaction[];
  deleted?: true;
  files?: FileRef[]; // attached files (non-empty), in the order the message listed them
};

// A file as a message carries it; publicId is the file's id in the API (random, unguessable). epoch: its
// room's file epoch when it was read (signed URLs cover it: lib/files/signing.ts).
export type FileRef = {
  publicId: string;
  name: string;
  type: string;
  size: number;
  width: number | null;
  height: number | null;
  epoch: number;
};
// An uploaded file's row (lib/files). storageKey: where the bytes are in the storage; messageId: the message
// it is attached to (null: not yet); sha256: hex, the download's ETag.
export type StoredFile = Omit<FileRef, "epoch"> & {
  roomId: number;
  userId: number;
  sha256: string;
  storageKey: string;
  messageId: number | null;
  createdAt: number;
};
// A file as a download checks it: with its room's file epoch now (signed URLs cover it).
export type FoundFile = StoredFile & { fileEpoch: number };

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
  // Seconds after which its messages are deleted (retention); null: the server's --retention, 0: kept forever.
  retention: number | null;
};

// Every durable change of a room has a seq: 1, 2, 3 … within the room, with no gap, in commit order.
// Messages take theirs in the message writer's batch; membership and room changes are stored as events
// in the same order. users: the members after the change; added/removed: user ids; by: who did it;
// room: the room after it (a user's stream announces a room it was added to with it).
export type RoomEvent =
  | {
      kind: "members";
      roomId: number;
      seq: number;
      users: User[];
      added: number[];
      removed: number[];
      by: number;
      room: Room;
    }
  | { kind: "room"; roomId: number; seq: number; room: Room; by: number }
  | MessageEvent;
// A message's changes, in the room's order. edit: the message as it is now (stored only as message_id,
// so a replayed edit reads it again: a tombstone if it was deleted since); reaction: the list after it.
export type MessageEvent =
  | { kind: "edit"; roomId: number; seq: number; by: number; message: Message }
  | { kind: "delete"; roomId: number; seq: number; by: number; messageId: number }
  | { kind: "reaction"; roomId: number; seq: number; by: number; messageId: number; reactions: Reaction[] };
export type Membership = { seq: number; users: number[] };
// mentions: how many of the unread messages mention the user (RoomSummary.mentions).
export type ReadMarker = { marker: number; unread: number; mentions: number };
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
// mentions: the unread messages (past the read marker) that mention the user.
// notify: the user's level in it, in effect.
export type RoomSummary = Room & {
  lastMessage: Message | null;
  unread: number;
  mentions: number;
  notify: NotifyLevel;
  lastActivity: number;
};
// A member's notification level in a room; a member who never chose has the room kind's default.
export const NOTIFY_LEVELS = ["all", "mentions", "none"] as const;
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];
export const defaultNotify = (kind: RoomKind): NotifyLevel => (kind === "direct" ? "all" : "mentions");
// A member's settings in a room, as in effect (defaults filled in).
export type RoomSettings = { notify: NotifyLevel };
// Retention (lib/retention/sweep.ts): one round deletes the oldest messages of the first room after afterRoom
// (by id) whose retention (the room's, else serverSeconds; 0: none) they passed at now, at most limit of them
// and limit room events, as one seq prefix of the room (messages, and the events before the newest of them).
export type ExpiryRound = { serverSeconds: number; now: number; afterRoom: number; limit: number };
// roomId: the room worked on (null: no room after afterRoom has expired messages); messages: how many went;
// removedFiles: their files' storage keys, rows gone with the commit (the caller deletes the bytes);
// roomDone: false when the room may hold more. "busy": another instance is sweeping (PostgreSQL).
export type Expired = { roomId: number | null; messages: number; removedFiles: string[]; roomDone: boolean } | "busy";
// Where a room's kept history starts: the first seq still stored (the room's seq + 1 when none is) and the
// oldest message id still stored (null: none). A room never cut starts at seq 1 (its creation).
export type HistoryStart = { seq: number; messageId: number | null };
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

// replyTo: a message of the same room it answers (null or absent: none). files: public ids of the sender's
// unattached uploads to the room, attached as it is stored (absent or empty: none).
export type NewMessage = {
  roomId: number;
  userId: number;
  text: string;
  clientId: string | null;
  now: number;
  replyTo?: number | null;
  files?: string[];
};
// duplicate: the client_id was already stored; message is that earlier one (and nothing is delivered).
// A new message's place in the room is its seq (the one before it is seq - 1).
export type Stored = { message: Message; duplicate: boolean };

export type Page = { limit: number; before?: number; after?: number };

// Full-text search (GET /v1/search): messages of the rooms userId is a member of now (roomId: that one
// only) holding every term of the query; deleted ones never. One call reads a window: the newest `scan`
// matching messages of any room with ids below before.below (the work a call does is bounded by it, however
// few of them are the caller's). newest: the window's hits newest first. rank: its hits by rank (lower is
// better: SQLite's bm25, PostgreSQL's -ts_rank), ties newest first, after before's rank and id.
export type MessageSearch = {
  userId: number;
  roomId?: number;
  query: SearchQuery;
  order: "newest" | "rank";
  limit: number;
  scan: number;
  before?: SearchCursor;
};
// below: ids under it (exclusive); rank and id: order rank, within the window below `below`.
export type SearchCursor = { below: number; rank?: number; id?: number };
// next: where the next page starts (more hits in this window, else the next window), null when none can.
export type SearchPage = { found: Found[]; next: SearchCursor | null };
export type Found = { message: Message; rank?: number }; // rank: with order rank
// Message changes (docs/api.md), each in the room's order: the message after it and its event (none when
// nothing changed). moderator: the caller may delete others' messages (the group's owner or an admin).
export type MessageEdit = { roomId: number; messageId: number; userId: number; text: string; now: number };
export type MessageDeletion = { roomId: number; messageId: number; by: number; moderator: boolean; now: number };
export type ReactionChange = {
  roomId: number;
  messageId: number;
  userId: number;
  emoji: string;
  add: boolean;
  now: number;
  maxEmoji: number;
};
// removedFiles: a delete's files' storage keys, their rows gone with the commit: the caller deletes the bytes.
export type MessageChanged = { message: Message; events: RoomEvent[]; removedFiles?: string[] };
// message_not_found: none such in the room, or deleted; forbidden: not the caller's to change; room_not_found:
// the caller is not a member (as the change commits); too_many_reactions: the message has maxEmoji already.
export type MessageRefused = {
  refused: "message_not_found" | "forbidden" | "room_not_found" | "too_many_reactions";
};

export interface Store {
  // null: taken. admin: `echat user add --admin`.
  createUser(login: string, folded: string, passwordHash: string, now: number, admin?: boolean): Promise<User | null>;
  // typed: the login as the caller typed it, to find an old account kept apart under the fold (storedFold).
  findUserByLogin(folded: string, typed?: string): Promise<UserWithHash | null>;
  findUsersByIds(ids: number[]): Promise<User[]>; // deleted accounts are not found
  searchUsers(folded: string, limit: number): Promise<User[]>;
  listUsers(): Promise<UserRow[]>; // by id; for the CLI

  // Accounts (admins, /v1/info). Disabling and deleting end every session of the user; deleting also
  // drops their invites and keeps their messages, under the login deleted-<id> (docs/api.md).
  findAccount(userId: number): Promise<Account | null>; // null: no such user, or deleted
  listAccounts(page: AccountPage): Promise<Account[]>;
  updateAccount(userId: number, change: AccountChange): Promise<AccountResult>;
  deleteAccount(userId: number, now: number): Promise<AccountResult>;
  hasAdmin(): Promise<boolean>; // an enabled admin exists

  // Invites. listInvites: live ones (not expired, uses left), setup links excluded, newest first.
  createInvite(invite: NewInvite): Promise<void>;
  listInvites(now: number): Promise<Invite[]>;
  revokeInvite(codeHash: Uint8Array, publicId: string): Promise<boolean>; // by either; false: none
  // Creates the user with the invite, in one transaction: the invite checked and a use taken, the user
  // made (an admin by the setup link), and the invite's room joined when it still exists and has room.
  // maxUsers: the invite's room is joined only below it.
  registerWithInvite(
    codeHash: Uint8Array,
    user: NewUser,
    now: number,
    setupOnly: boolean,
    maxUsers: number,
  ): Promise<Redeemed>;

  createSession(session: NewSession): Promise<void>;
  findSession(tokenHash: Uint8Array): Promise<Session | null>; // null also for a disabled user's
  listSessions(userId: number): Promise<SessionRow[]>; // newest first
  // Ends one of the user's sessions by its public id; returns its token hash (null: none such of theirs).
  endSession(userId: number, publicId: string): Promise<Uint8Array | null>;
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
  // findRoomForMember for several rooms at once (a user stream's resume): those the user is in, by id.
  findRoomsForMember(roomIds: number[], userId: number): Promise<Room[]>;
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
  // The user's rooms, each one's newest seq and its members' ids, read at once (a user stream's resume
  // and the presence of the users it shares rooms with).
  listMemberships(userId: number): Promise<Map<number, Membership>>;
  // Public groups whose folded name contains `folded`, newest first, ids below `before`.
  listPublicRooms(page: PublicPage): Promise<PublicRoom[]>;
  // The room's durable frames after seq, in seq order, at most limit. Found through (room_id, id) for
  // messages (within a room id order is seq order) and (room_id, seq) for events; the messages' start
  // costs a walk over as many rows as follow afterSeq, so a caller checks latestSeqs first when the
  // gap may be long (resume does).
  listFrames(roomId: number, afterSeq: number, limit: number): Promise<RoomFrame[]>;
  // listFrames for several rooms at once, room id -> seq to read after (a user stream's resume reads
  // its rooms in a few queries, not a few per room): each room's frames, limit at most, [] for none.
  listRoomsFrames(afterSeqs: Map<number, number>, limit: number): Promise<Map<number, RoomFrame[]>>;
  // Each room's newest seq. Several instances: fan-out notices frames another instance stored but
  // never announced (it crashed, or the broker was away). SQLite: may count frames still being answered.
  latestSeqs(roomIds: number[]): Promise<Map<number, number>>;

  // Rejects with ApiError("invalid_files") unless every file is the sender's upload to the room, attached to
  // no message (checked and attached in the storing transaction; nothing stored otherwise).
  // Rejects with ApiError("room_not_found") when the sender is no longer a member as the batch commits
  // (removed while the message waited in the queue): no message follows its sender's removal. Rejects
  // with ApiError("message_not_found") when replyTo is not a live (undeleted) message of the room then;
  // a retry (its client_id stored) gets the earlier message back before that check.
  // A text with "@" mentions members (lib/mentions.ts), read in the same transaction: message.mentions,
  // and a row per mentioned member but the sender for unread mention counts (RoomSummary.mentions).
  createMessage(input: NewMessage): Promise<Stored>;
  listMessages(roomId: number, page: Page): Promise<Message[]>; // oldest first
  searchMessages(search: MessageSearch): Promise<SearchPage>;
  // Edits (the author only), deletes (the author or a moderator; the text erased: a tombstone stays) and
  // reactions. History, backlogs and replays skip deleted messages; the delete event is replayed instead.
  editMessage(edit: MessageEdit): Promise<MessageChanged | MessageRefused>;
  deleteMessage(deletion: MessageDeletion): Promise<MessageChanged | MessageRefused>;
  setReaction(change: ReactionChange): Promise<MessageChanged | MessageRefused>;
  // The marker after the call and the room's unread count for the user then; a marker that would not
  // advance writes nothing.
  markRead(roomId: number, userId: number, messageId: number): Promise<ReadMarker>;
  // The member's settings in the room after the change (notify absent: unchanged), in effect; null when not
  // a member.
  setRoomSettings(roomId: number, userId: number, settings: Partial<RoomSettings>): Promise<RoomSettings | null>;
  // The room's retention (seconds, null: the server's, 0: forever), by a member the caller checked may set
  // it; a room event in the room's order when it changes. not_found: no such live room, or by not a member.
  setRoomRetention(roomId: number, by: number, retention: number | null, now: number): Promise<Changed | Refused>;
  // Retention: one round of the sweep (ExpiryRound), and where rooms' kept history starts (resume).
  expireMessages(round: ExpiryRound): Promise<Expired>;
  historyStarts(roomIds: number[]): Promise<Map<number, HistoryStart>>;

  // Files (lib/files). createFile: the row of an upload whose bytes are stored already; "quota_exceeded" when
  // the uploader's files (attached or not) would pass `quota` bytes with it, checked in the inserting
  // transaction. fileBytesUsed: what counts against the quota. findFile: by its public id, with its room's
  // file epoch. setting: a server-wide value (the settings table), written by the first caller and returned
  // as stored to everyone after (several instances starting at once agree on one).
  createFile(file: Omit<StoredFile, "messageId">, quota: number): Promise<StoredFile | "quota_exceeded">;
  fileBytesUsed(userId: number): Promise<number>;
  filesStoredBytes(): Promise<number>; // all uploads' bytes, attached or not (the metric echat_files_stored_bytes)
  findFile(publicId: string): Promise<FoundFile | null>;
  setting(key: string, initial: string): Promise<string>;
  // Web Push subscriptions (lib/http/push.ts). savePushSubscription: insert, or replace the row of the same
  // endpoint (whoever had it), then keep only the user's `max` newest. deletePushSubscription: the user's
  // row of that endpoint, if any. Ending a session removes its rows (ON DELETE CASCADE on both stores).
  savePushSubscription(sub: PushSubscriptionRow, max: number): Promise<void>;
  deletePushSubscription(userId: number, endpoint: string): Promise<void>;
  // The push queue (lib/push/; push_queue: one row per subscription and room). enqueuePushes: one statement
  // (so one transaction) upserting a row for each subscription of each member the news concerns: not the
  // sender, not in `online`, the level in effect matching, the message past their read marker; an existing
  // row keeps its due time and takes the newer message. claimPushes: up to `limit` rows due by `now`, not
  // claimed and with news (a message past the one last sent), claimed until `until` atomically (two instances
  // never claim one row); rows due with no news go. findPushTarget: null when the subscription, the membership
  // or the message is gone. sentPush: the job's message was pushed: the row is kept as sent, released, due at
  // `dueAt` (the gap). dropPush: the job is dropped: its row goes if it still holds that message, else (a newer
  // message came) it is released. retryPush: released, due at `dueAt`, with `attempts` failed sends so far. The
  // three change the row only while the job's claim holds it. deletePushEndpoint: the subscription (and its rows)
  // of an endpoint the push service says is gone. countPushQueue: rows with news.
  enqueuePushes(news: PushNews[], online: number[], dueAt: number): Promise<void>;
  claimPushes(now: number, until: number, limit: number): Promise<PushJob[]>;
  findPushTarget(job: PushJob): Promise<PushTarget | null>;
  sentPush(job: PushJob, dueAt: number): Promise<void>;
  dropPush(job: PushJob): Promise<void>;
  retryPush(job: PushJob, dueAt: number, attempts: number): Promise<void>;
  deletePushEndpoint(endpoint: string): Promise<void>;
  countPushQueue(): Promise<number>;
  // The orphan sweep (lib/files/sweep.ts): deletes up to `limit` rows of files still unattached and uploaded
  // before `before` (ms), oldest first, each only if still unattached as it goes; their storage keys.
  deleteUnattachedFiles(before: number, limit: number): Promise<string[]>;

  ping(): Promise<void>;
  // A consistent copy of the live database into a new file (SQLite only; PostgreSQL has pg_dump).
  backup?(file: string): Promise<void>;
  close(): Promise<void>;
}

// The push queue's part of a store (sqlite/push-queue.ts, postgres/push-queue.ts).
export type PushQueueStore = Pick<
  Store,
  | "enqueuePushes"
  | "claimPushes"
  | "findPushTarget"
  | "sentPush"
  | "dropPush"
  | "retryPush"
  | "deletePushEndpoint"
  | "countPushQueue"
>;

// The PostgreSQL client and the database's deployment id, for what shares the database besides the
// store: the broker's LISTEN/NOTIFY transport, the shared login buckets, Redis names.
export type PostgresHandle = { sql: SQL; deployment: string };

// pg: only when the store is PostgreSQL.
// upgrade: what opening did to an older database's schema (the start-up log says it), when it did anything.
export type OpenDatabase = { store: Store; pg?: PostgresHandle; upgrade?: SchemaUpgrade };
