// One room's live chat: a Connection that resumes from the last message id it delivered (?after=), an Outbox
// that sends each message with a client_id until the server acknowledges it, and typed frames as events.
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
  PresenceFrame,
  ReactionFrame,
  ReadFrame,
  RoomEvent,
  RoomFrame,
  TypingFrame,
} from "./types.ts";

const MAX_FRAME_BYTES = 64 * 1024; // the server closes the socket (1009) on a larger frame
const GONE: ReadonlySet<string> = new Set(["unauthorized", "room_not_found"]); // no use reconnecting

// What the socket needs of the REST client (a RestClient has all of it).
export type RoomApi = {
  readonly baseUrl: string;
  readonly session: string | null;
  getRoom(id: number): Promise<{ seq: number }>;
  messages(roomId: number, query: { limit?: number }): Promise<Message[]>;
};

export type RoomSocketOptions = {
  // Resume after this message id, or with "members" or "changes" among the events after this seq (the room's order);
  // default: the room's newest message (its seq) when the socket starts.
  after?: number;
  events?: RoomEvent[]; // opt-in events; none by default
  backoff?: Partial<Backoff>;
  WebSocket?: WebSocketLike; // another implementation (tests, old runtimes)
};

export type RoomSocketEvents = {
  message: Message; // each stored message once, in id order, the sender's own included
  typing: TypingFrame;
  presence: PresenceFrame;
  read: ReadFrame;
  resync: { room_id: number; after: number }; // over 1000 missed: reload by REST (messagesAfter without members)
  members: MembersFrame; // with events=members: who joined, left or was removed, in the room's order
  room: RoomFrame; // with events=members: the room's name, topic, visibility or owner changed
  // With events=changes, in the room's order: a message edited (replayed as it is now: a tombstone with
  // deleted: true if it was deleted since), deleted (a replay skips it: expect seq gaps), its reactions.
  edit: EditFrame;
  delete: DeleteFrame;
  reaction: ReactionFrame;
  error: ApiError; // an error frame that answers no pending send
  state: StateChange;
  closed: Ended; // for good: see docs/client.md for the codes
};

export class RoomSocket extends Emitter<RoomSocketEvents> {
  private conn: Connection;
  private outbox = new Outbox<Message>();
  private last: number | undefined; // the newest message id delivered, or seq with events=members or changes
  private readonly bySeq: boolean;
  private holdUntil: number | undefined; // resends wait until the backlog reaches this id
  private backoff: Backoff;
  private end?: Ended; // closed for good

  constructor(
    private api: RoomApi,
    readonly roomId: number,
    private options: RoomSocketOptions = {},
  ) {
    super();
    this.last = options.after;
    this.bySeq = options.events?.some((e) => e === "members" || e === "changes") ?? false;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.conn = new Connection(
      {
        prepare: (retry) => this.prepare(retry),
        fatal: (e) => e instanceof ApiError && GONE.has(e.code),
        opened: () => void this.opened(),
        frame: (f) => this.receive(f),
        state: (s) => this.emit("state", s),
        ended: (end) => this.ended(end),
      },
      this.backoff,
      options.WebSocket,
    );
    queueMicrotask(() => this.conn.start()); // after the caller's on() calls, so they see every state
  }

  // Where the next connection resumes: the newest message id delivered, or (events=members or changes) seq.
  get lastId(): number {
    return this.last ?? 0;
  }

  get open(): boolean {
    return this.conn.open;
  }

  // Resolves with the stored message (the server's acknowledgement); rejects with the ApiError of an error
  // frame (invalid_text, rate_limited, message_not_found: not stored). Goes out now or on the next connection,
  // again on every connection until acknowledged; pass the clientId of an earlier send to retry it yourself.
  // replyTo: the id of a message of the room this one answers. files: ids of the caller's uploads to the room
  // (uploadFile); text may then be "" (invalid_files: not stored).
  send(text: string, opts: { clientId?: string; replyTo?: number; files?: string[] } = {}): Promise<Message> {
    if (this.end) return Promise.reject(new SocketClosed(this.end));
    const clientId = opts.clientId ?? newClientId();
    const frame = {
      text,
      client_id: clientId,
      ...(opts.replyTo === undefined ? {} : { reply_to: opts.replyTo }),
      ...(opts.files?.length ? { files: opts.files } : {}),
    };
    const { entry, acked } = this.outbox.add(clientId, frame);
    if (new TextEncoder().encode(JSON.stringify(frame)).length > MAX_FRAME_BYTES) {
      this.outbox.fail(clientId, new ApiError(0, "payload_too_large", "The message is larger than a frame may be"));
    } else if (this.holdUntil === undefined && this.conn.send(frame)) entry.sent = true;
    return acked;
  }

  // Resolves when the socket is open (at once if it is); rejects with SocketClosed if it ends for good first.
  connected(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offState = this.on("state", (s) => s.state === "open" && (done(), resolve()));
      const offClosed = this.on("closed", (end) => (done(), reject(new SocketClosed(end))));
      const done = () => (offState(), offClosed());
    });
  }

  // Ephemeral: sent only while connected (false when not).
  typing(): boolean {
    return this.conn.send({ type: "typing" });
  }

  read(messageId: number): boolean {
    return this.conn.send({ type: "read", message_id: messageId });
  }

  close() {
    this.conn.close();
  }

  private async prepare(retry: boolean): Promise<string> {
    if (retry) await this.api.getRoom(this.roomId); // unauthorized or room_not_found end the socket
    this.last ??= await this.newest();
    const { session, baseUrl } = this.api;
    return roomSocketUrl(baseUrl, this.roomId, {
      session: session ?? "",
      after: this.last,
      events: this.options.events,
    });
  }

  // Sends that went out before may be stored already, and their copy may still be on its way in the
  // backlog. Resending before the backlog has passed them would get the stored copy back as an ack ahead of
  // older backlog messages; so they wait until the backlog reaches the room's newest id as of now.
  private async opened() {
    const entries = this.outbox.entries();
    if (!entries.some((e) => e.sent)) return this.flush();
    this.holdUntil = Infinity;
    try {
      this.holdUntil = await this.newest();
    } catch {
      this.holdUntil = 0; // cannot tell: resend now; the server still stores each once
    }
    if (this.lastId >= this.holdUntil) this.flush();
  }

  // The room's newest position: its newest message's id, or its seq.
  private async newest(): Promise<number> {
    if (this.bySeq) return (await this.api.getRoom(this.roomId)).seq;
    return (await this.api.messages(this.roomId, { limit: 1 })).at(-1)?.id ?? 0;
  }

  private flush() {
    this.holdUntil = undefined;
    for (const e of this.outbox.entries()) if (this.conn.send(e.frame)) e.sent = true;
  }

  // Frame type -> handler; a frame without a type is a message (a socket with no events opted in).
  private frames: Record<string, (f: any) => void> = {
    message: (m: Message) => this.onMessage(m),
    typing: (f: TypingFrame) => this.emit("typing", f),
    presence: (f: PresenceFrame) => this.emit("presence", f),
    read: (f: ReadFrame) => this.emit("read", f),
    resync: (f: { room_id: number }) => this.emit("resync", { room_id: f.room_id, after: this.lastId }),
    members: (f: MembersFrame) => this.advance(f.seq) && (this.emit("members", f), this.releaseHeld()),
    room: (f: RoomFrame) => this.advance(f.seq) && (this.emit("room", f), this.releaseHeld()),
    edit: (f: EditFrame) => this.advance(f.seq) && (this.emit("edit", f), this.releaseHeld()),
    delete: (f: DeleteFrame) => this.advance(f.seq) && (this.emit("delete", f), this.releaseHeld()),
    reaction: (f: ReactionFrame) => this.advance(f.seq) && (this.emit("reaction", f), this.releaseHeld()),
  };

  private receive(f: Record<string, unknown>) {
    if (f.error) return this.refused(f as ErrorFrame);
    this.frames[(f.type as string | undefined) ?? "message"]?.(f);
  }

  // A message: it acknowledges its send, and is delivered unless it is a retry's copy of one delivered already.
  private onMessage(m: Message) {
    if (m.client_id) this.outbox.settle(m.client_id, m);
    if (!this.advance(this.bySeq ? m.seq! : m.id)) return;
    this.emit("message", m);
    this.releaseHeld();
  }

  // The backlog has passed the room's newest position as of the reconnect: held resends go out.
  private releaseHeld() {
    if (this.holdUntil !== undefined && this.lastId >= this.holdUntil) this.flush();
  }

  // Moves the resume position to a durable frame's; false for one delivered already.
  private advance(position: number): boolean {
    if (position <= this.lastId) return false;
    this.last = position;
    return true;
  }

  private refused(f: ErrorFrame) {
    const e = new ApiError(0, f.error.code, f.error.message);
    if (!this.outbox.refused(f.client_id, e, this.backoff, (p) => (p.sent = this.conn.send(p.frame))))
      this.emit("error", e);
  }

  private ended(end: Ended) {
    this.end = end;
    this.outbox.failAll(new SocketClosed(end));
    this.emit("closed", end);
  }
}

// The URL of a room's socket: GET /v1/rooms/:id/chat?session_id=&after=&events=.
export function roomSocketUrl(
  baseUrl: string,
  roomId: number,
  query: { session: string; after?: number; events?: readonly RoomEvent[] },
): string {
  const q = new URLSearchParams({ session_id: query.session });
  if (query.after !== undefined) q.set("after", String(query.after));
  if (query.events?.length) q.set("events", query.events.join(","));
  return `${socketBase(baseUrl)}/v1/rooms/${roomId}/chat?${q}`;
}
