// One live stream over all of the user's rooms (WS /v1/stream): a Connection that opens each attempt with a
// resume frame carrying the last seq seen per room, so the server replays exactly what was missed (or says
// resync) before going live; an Outbox that sends each message with a client_id until acknowledged, held
// until the replay is done (synced); typed frames as events.
import { type Backoff, DEFAULT_BACKOFF } from "./backoff.ts";
import { newClientId } from "./client-id.ts";
import { Connection, type Ended, socketBase, type StateChange, type WebSocketLike } from "./connection.ts";
import { Emitter } from "./emitter.ts";
import { ApiError, SocketClosed } from "./errors.ts";
import { Outbox } from "./outbox.ts";
import type {
  DeleteFrame,
  EditFrame,
  ErrorFrame,
  MembersFrame,
  Message,
  ReactionFrame,
  ReadFrame,
  SettingsFrame,
  RoomFrame,
  TypingFrame,
  User,
  UserPresenceFrame,
} from "./types.ts";

// What the stream needs of the REST client (a RestClient has it).
export type StreamApi = { readonly baseUrl: string; readonly session: string | null; info(): Promise<unknown> };

export type UserStreamOptions = {
  rooms?: Record<number, number>; // the last seq seen per room, kept from earlier (e.g. in localStorage)
  backoff?: Partial<Backoff>;
  WebSocket?: WebSocketLike;
};

export type StreamMessage = Message & { seq: number };
export type UserStreamEvents = {
  hello: { user: User };
  message: StreamMessage; // each stored message once, in its room's order, the user's own included
  members: MembersFrame;
  room: RoomFrame; // a room changed, or the user was added to it (then its frames follow)
  // A message edited (replayed as it is now: a tombstone with deleted: true if it was deleted since),
  // deleted (a replay skips the message itself: expect seq gaps), its reactions; in the room's order.
  edit: EditFrame;
  delete: DeleteFrame;
  reaction: ReactionFrame;
  room_removed: { room_id: number }; // the user left or was removed: nothing more comes from it
  resync: { room_id: number; seq: number }; // over 1000 missed: reload the room and its newest page by REST
  synced: undefined; // the replay is done; what follows is live
  typing: TypingFrame;
  read: ReadFrame; // with unread when it is the user's own marker (any of their devices)
  settings: SettingsFrame; // the user's own settings in a room changed (any of their devices, this one included)
  // A user who shares a room with you is online (any socket anywhere) or not. After each synced, one
  // online:true per such user online: start each connection with everyone offline.
  presence: UserPresenceFrame;
  error: ApiError; // an error frame that answers no pending send
  state: StateChange;
  closed: Ended; // for good: logged out (4001), or the app closed it
};

export class UserStream extends Emitter<UserStreamEvents> {
  private conn: Connection;
  private outbox = new Outbox<StreamMessage>();
  private positions: Map<number, number>;
  private synced = false;
  private end?: Ended; // closed for good
  private backoff: Backoff;

  constructor(
    private api: StreamApi,
    options: UserStreamOptions = {},
  ) {
    super();
    this.positions = new Map(Object.entries(options.rooms ?? {}).map(([id, seq]) => [Number(id), seq]));
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.conn = new Connection(
      {
        prepare: (retry) => this.prepare(retry),
        fatal: (e) => e instanceof ApiError && e.code === "unauthorized",
        opened: () => this.conn.send({ type: "resume", rooms: Object.fromEntries(this.positions) }),
        frame: (f) => this.receive(f),
        state: (s) => this.onState(s),
        ended: (end) => this.ended(end),
      },
      this.backoff,
      options.WebSocket,
    );
    queueMicrotask(() => this.conn.start()); // after the caller's on() calls
  }

  // The last seq seen per room: keep it to resume a later stream where this one stopped.
  get rooms(): Record<number, number> {
    return Object.fromEntries(this.positions);
  }

  get open(): boolean {
    return this.conn.open && this.synced;
  }

  // Resolves with the stored message; rejects with the ApiError of an error frame (invalid_text,
  // room_not_found, message_not_found, rate_limited: not stored). Goes out once synced, again on every
  // connection until acknowledged. replyTo: the id of a message of the room this one answers. files: ids of
  // the caller's uploads to the room (uploadFile), text may then be "" (invalid_files: not stored).
  send(
    roomId: number,
    text: string,
    opts: { clientId?: string; replyTo?: number; files?: string[] } = {},
  ): Promise<StreamMessage> {
    if (this.end) return Promise.reject(new SocketClosed(this.end));
    const clientId = opts.clientId ?? newClientId();
    const reply = opts.replyTo === undefined ? {} : { reply_to: opts.replyTo };
    const files = opts.files?.length ? { files: opts.files } : {};
    const frame = { type: "message", room_id: roomId, text, client_id: clientId, ...reply, ...files };
    const { entry, acked } = this.outbox.add(clientId, frame);
    if (this.synced && this.conn.send(entry.frame)) entry.sent = true;
    return acked;
  }

  // Ephemeral: sent only while live (false when not).
  typing(roomId: number): boolean {
    return this.synced && this.conn.send({ type: "typing", room_id: roomId });
  }

  read(roomId: number, messageId: number): boolean {
    return this.synced && this.conn.send({ type: "read", room_id: roomId, message_id: messageId });
  }

  close() {
    this.conn.close();
  }

  // A refused upgrade shows no status: before a retry, a REST call tells whether the session still holds.
  private async prepare(retry: boolean): Promise<string> {
    if (retry) await this.api.info();
    const q = new URLSearchParams({ session_id: this.api.session ?? "" });
    return `${socketBase(this.api.baseUrl)}/v1/stream?${q}`;
  }

  private ended(end: Ended) {
    this.end = end;
    this.outbox.failAll(new SocketClosed(end));
    this.emit("closed", end);
  }

  private onState(s: StateChange) {
    if (s.state !== "open") this.synced = false;
    this.emit("state", s);
  }

  private frames: Record<string, (f: any) => void> = {
    hello: (f: { user: User }) => this.emit("hello", { user: f.user }),
    message: (m: StreamMessage) => this.onMessage(m),
    members: (f: MembersFrame) => this.advance(f.room_id, f.seq) && this.emit("members", f),
    room: (f: RoomFrame) => this.advance(f.room_id, f.seq) && this.emit("room", f),
    edit: (f: EditFrame) => this.advance(f.room_id, f.seq) && this.emit("edit", f),
    delete: (f: DeleteFrame) => this.advance(f.room_id, f.seq) && this.emit("delete", f),
    reaction: (f: ReactionFrame) => this.advance(f.room_id, f.seq) && this.emit("reaction", f),
    room_removed: (f: { room_id: number }) => (this.positions.delete(f.room_id), this.emit("room_removed", f)),
    resync: (f: { room_id: number; seq: number }) => (this.positions.set(f.room_id, f.seq), this.emit("resync", f)),
    synced: () => this.onSynced(),
    typing: (f: TypingFrame) => this.emit("typing", f),
    read: (f: ReadFrame) => this.emit("read", f),
    settings: (f: SettingsFrame) => this.emit("settings", f),
    presence: (f: UserPresenceFrame) => this.emit("presence", f),
  };

  private receive(f: Record<string, unknown>) {
    if (f.error) return this.refused(f as ErrorFrame);
    this.frames[f.type as string]?.(f);
  }

  // The replay is over: sends made while away (or before) go out now; the server recognizes a retry of
  // one it stored already by its client_id and answers with the stored copy.
  private onSynced() {
    this.synced = true;
    for (const e of this.outbox.entries()) if (this.conn.send(e.frame)) e.sent = true;
    this.emit("synced", undefined);
  }

  private onMessage(m: StreamMessage) {
    if (m.client_id) this.outbox.settle(m.client_id, m);
    if (this.advance(m.room_id, m.seq)) this.emit("message", m);
  }

  // Moves a room's position to a durable frame's; false for one delivered already.
  private advance(roomId: number, seq: number): boolean {
    if (seq <= (this.positions.get(roomId) ?? 0)) return false;
    this.positions.set(roomId, seq);
    return true;
  }

  private refused(f: ErrorFrame) {
    const e = new ApiError(0, f.error.code, f.error.message);
    if (!this.outbox.refused(f.client_id, e, this.backoff, (p) => this.synced && (p.sent = this.conn.send(p.frame))))
      this.emit("error", e);
  }
}
