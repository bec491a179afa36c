// Typed REST calls over the transport: one method per endpoint of docs/api.md. A 2xx answer returns its
// body typed; any other throws ApiError (the API's error body) or NetworkError (no answer, or not the API's).
import { ApiError, errorOf, NetworkError, retryAfterSeconds } from "./errors.ts";
import type { WebSocketLike } from "./connection.ts";
import { RoomSocket, type RoomSocketOptions } from "./room-socket.ts";
import { createTransport, type Request, type RequestOptions } from "./transport.ts";
import { UserStream, type UserStreamOptions } from "./user-stream.ts";
import type {
  AdminUser,
  FileInfo,
  Health,
  Info,
  Invite,
  MemberRef,
  NewGroup,
  NewInvite,
  PublicRoom,
  Message,
  Reactions,
  Readiness,
  Reply,
  SearchQuery,
  SearchResults,
  Room,
  RoomChange,
  PushSubscriptionJson,
  RoomSettings,
  RoomSettingsChange,
  RoomSummary,
  Session,
  SessionInfo,
  User,
} from "./types.ts";

export type ClientOptions = {
  baseUrl?: string; // "" (the default) in a page served by echat; "http://host:port" elsewhere
  session?: string | null; // a session from earlier (e.g. kept in localStorage)
  onSession?: (session: string | null) => void; // told when login/register set it and logout clears it
  onUnauthorized?: () => void; // a call made with a session got 401: the session has ended
  fetch?: typeof fetch;
  WebSocket?: WebSocketLike; // the WebSocket implementation of this client's sockets (default: the global one)
};

export type RoomPage = { rooms: RoomSummary[]; next: string | null }; // next: the before= cursor of the next page
export type HistoryQuery = { limit?: number; before?: number; after?: number };
// name: the file's name (sanitized by the server); onProgress(sent, total) as bytes go out; signal: cancel.
export type UploadOptions = {
  name: string;
  type?: string;
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
};

export class RestClient {
  readonly request: Request;
  readonly baseUrl: string;
  private current: string | null;

  constructor(private options: ClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.request = createTransport(this.baseUrl, options.fetch);
    this.current = options.session ?? null;
  }

  get session(): string | null {
    return this.current;
  }

  set session(id: string | null) {
    this.current = id;
    this.options.onSession?.(id);
  }

  // invite: the code of an invite link, needed when the server's registration is "invite".
  async register(login: string, password: string, invite?: string): Promise<Session> {
    const body = invite ? { login, password, invite } : { login, password };
    return this.start(await this.call<Session>("POST", "/v1/register", { body }));
  }

  async login(login: string, password: string): Promise<Session> {
    return this.start(await this.call<Session>("POST", "/v1/login", { body: { login, password } }));
  }

  // Ends this session on the server (its sockets close with 4001) and forgets it here.
  async logout(): Promise<void> {
    try {
      await this.call("POST", "/v1/logout", { body: {} });
    } finally {
      this.session = null;
    }
  }

  // Ends every other session of the user; this one stays.
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await this.call("POST", "/v1/password", { body: { old_password: oldPassword, new_password: newPassword } });
  }

  info(): Promise<Info> {
    return this.call<Info>("GET", "/v1/info");
  }

  // The server's VAPID public key (base64url), the applicationServerKey for PushManager.subscribe.
  async pushKey(): Promise<string> {
    return (await this.call<{ key: string }>("GET", "/v1/push/key")).key;
  }

  // Registers a browser's PushSubscription (its toJSON(): endpoint and keys) for this session.
  async subscribePush(sub: PushSubscriptionJson): Promise<void> {
    await this.call("POST", "/v1/push/subscriptions", { body: sub });
  }

  // Removes a subscription by its endpoint (no error when it is already gone).
  async unsubscribePush(endpoint: string): Promise<void> {
    await this.call("DELETE", "/v1/push/subscriptions", { body: { endpoint } });
  }

  searchUsers(q: string): Promise<User[]> {
    return this.call<User[]>("GET", `/v1/users?${new URLSearchParams({ q })}`);
  }

  // One page of the caller's rooms, most recent activity first; pass next back as before for the next page.
  async listRooms(query: { limit?: number; before?: string } = {}): Promise<RoomPage> {
    const reply = await this.send<RoomSummary[]>("GET", `/v1/rooms${search(query)}`);
    const link = /<([^>]+)>;\s*rel="next"/.exec(reply.headers.get("link") ?? "")?.[1];
    return { rooms: reply.body, next: link ? new URL(link, "http://x").searchParams.get("before") : null };
  }

  // Every room, following the pages (at most 1,000 rooms: 5 requests).
  async allRooms(limit = 200): Promise<RoomSummary[]> {
    const all: RoomSummary[] = [];
    for (let before: string | undefined; ; ) {
      const page = await this.listRooms({ limit, before });
      all.push(...page.rooms);
      if (!page.next) return all;
      before = page.next;
    }
  }

  // Idempotent by member set: the room with exactly these members (and the caller) if it exists.
  createRoom(users: MemberRef[]): Promise<Room> {
    return this.call<Room>("POST", "/v1/rooms", { body: { users } });
  }

  getRoom(id: number): Promise<Room> {
    return this.call<Room>("GET", `/v1/rooms/${id}`);
  }

  // A named group, never de-duplicated; the caller owns it.
  createGroup(group: NewGroup): Promise<Room> {
    return this.call<Room>("POST", "/v1/rooms", { body: { users: [], ...group } });
  }

  // A group's name, topic or visibility: its owner or a server admin.
  updateRoom(id: number, change: RoomChange): Promise<Room> {
    return this.call<Room>("PATCH", `/v1/rooms/${id}`, { body: change });
  }

  // Your own settings in a room (its notification level); your other devices' streams get a settings event.
  setRoomSettings(id: number, settings: RoomSettingsChange): Promise<RoomSettings> {
    return this.call<RoomSettings>("PUT", `/v1/rooms/${id}/settings`, { body: settings });
  }

  // Any member of a group adds people.
  addMembers(id: number, users: MemberRef[]): Promise<Room> {
    return this.call<Room>("POST", `/v1/rooms/${id}/users`, { body: { users } });
  }

  // The owner (or an admin) removes someone; removing yourself is leave().
  async removeMember(id: number, userId: number): Promise<void> {
    await this.call("DELETE", `/v1/rooms/${id}/users/${userId}`);
  }

  async leave(id: number, myId: number): Promise<void> {
    await this.removeMember(id, myId);
  }

  // The directory of public groups, newest first; before: the smallest id of the previous page.
  publicRooms(query: { q?: string; limit?: number; before?: number } = {}): Promise<PublicRoom[]> {
    return this.call<PublicRoom[]>("GET", `/v1/rooms/public${search(query)}`);
  }

  joinRoom(id: number): Promise<Room> {
    return this.call<Room>("POST", `/v1/rooms/${id}/join`, { body: {} });
  }

  // The latest 50 by default, oldest first; before= scrolls back, after= catches up.
  messages(roomId: number, query: HistoryQuery = {}): Promise<Message[]> {
    return this.call<Message[]>("GET", `/v1/rooms/${roomId}/messages${search(query)}`);
  }

  // Every message with an id above after, paging until a short page.
  async messagesAfter(roomId: number, after: number, limit = 200): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const page = await this.messages(roomId, { after, limit });
      all.push(...page);
      if (page.length < limit) return all;
      after = page.at(-1)!.id;
    }
  }

  // Full-text search over the caller's rooms: words, prefixes (prog*), "phrases"; newest first or order
  // "rank". Pass next back as before for the next page until it is null: a page may be short, even empty,
  // and still have a next (one request reads a bounded window of matches).
  search(query: SearchQuery): Promise<SearchResults> {
    const { q, roomId, order, limit, before } = query;
    return this.call<SearchResults>("GET", `/v1/search${search({ q, room_id: roomId, order, limit, before })}`);
  }

  // The author edits their message: the message as stored (edited_at set; the same text changes nothing).
  editMessage(roomId: number, messageId: number, text: string): Promise<Message> {
    return this.call<Message>("PATCH", `/v1/rooms/${roomId}/messages/${messageId}`, { body: { text } });
  }

  // The author, the group's owner or an admin: the text is erased, history no longer has the message.
  async deleteMessage(roomId: number, messageId: number): Promise<void> {
    await this.call("DELETE", `/v1/rooms/${roomId}/messages/${messageId}`);
  }

  // Uploads a file to a room (members only): its id goes in a send's files. The body streams as is; type is
  // its Content-Type (default: the Blob's own, else application/octet-stream). onProgress(sent, total): in
  // browsers from XMLHttpRequest's upload events; elsewhere (fetch has no upload progress) once, at the end.
  // Rejects with ApiError: payload_too_large (413, --max-file-size), quota_exceeded, invalid_file_name,
  // rate_limited; with an AbortError when signal aborts.
  async uploadFile(
    roomId: number,
    file: Blob | ArrayBuffer | Uint8Array<ArrayBuffer>,
    opts: UploadOptions,
  ): Promise<FileInfo> {
    const blob = file instanceof Blob ? file : new Blob([file]);
    const type = opts.type ?? (blob.type || "application/octet-stream");
    const path = `/v1/rooms/${roomId}/files?${new URLSearchParams({ name: opts.name })}`;
    const browser = typeof XMLHttpRequest !== "undefined";
    if (browser && (opts.onProgress || opts.signal)) return this.uploadWithProgress(path, blob, type, opts);
    const reply = await this.send<FileInfo>("POST", path, { raw: blob, headers: { "content-type": type } });
    opts.onProgress?.(blob.size, blob.size);
    return reply.body;
  }

  // A file's URL, absolute for a client of another origin (its url is relative to the server).
  fileUrl(file: Pick<FileInfo, "url">): string {
    return this.baseUrl.replace(/\/+$/, "") + file.url;
  }

  private uploadWithProgress(path: string, blob: Blob, type: string, opts: UploadOptions): Promise<FileInfo> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.baseUrl.replace(/\/+$/, "") + path);
      xhr.setRequestHeader("content-type", type);
      if (this.current) xhr.setRequestHeader("x-session-id", this.current);
      xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : blob.size);
      xhr.onload = () => {
        let body: unknown = xhr.responseText;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {}
        if (xhr.status >= 200 && xhr.status < 300) return resolve(body as FileInfo);
        const e = errorOf(body);
        if (!e) return reject(new NetworkError(`The server answered ${xhr.status}.`, xhr.status));
        if (xhr.status === 401 && this.current) this.options.onUnauthorized?.();
        reject(new ApiError(xhr.status, e.code, e.message, retryAfterSeconds(xhr.getResponseHeader("retry-after"))));
      };
      xhr.onerror = () => reject(new NetworkError());
      xhr.onabort = () => reject(new DOMException("The upload was aborted", "AbortError"));
      opts.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(blob);
    });
  }

  // One emoji; both idempotent. The message's reactions after the change.
  react(roomId: number, messageId: number, emoji: string): Promise<Reactions> {
    return this.call<Reactions>("PUT", reactionPath(roomId, messageId, emoji));
  }

  unreact(roomId: number, messageId: number, emoji: string): Promise<Reactions> {
    return this.call<Reactions>("DELETE", reactionPath(roomId, messageId, emoji));
  }

  // One live stream over all of the user's rooms, connecting at once: see UserStream.
  stream(options?: UserStreamOptions): UserStream {
    return new UserStream(this, { WebSocket: this.options.WebSocket, ...options });
  }

  // The room's live chat, connecting at once: see RoomSocket.
  roomSocket(roomId: number, options?: RoomSocketOptions): RoomSocket {
    return new RoomSocket(this, roomId, { WebSocket: this.options.WebSocket, ...options });
  }

  // The caller's signed-in sessions; ending one closes its sockets (4001).
  sessions(): Promise<SessionInfo[]> {
    return this.call<SessionInfo[]>("GET", "/v1/sessions");
  }

  async endSession(id: string): Promise<void> {
    await this.call("DELETE", `/v1/sessions/${encodeURIComponent(id)}`);
  }

  // Admins only (403 forbidden otherwise): invite links.
  createInvite(options: { uses?: number; expires_in?: number; room_id?: number } = {}): Promise<NewInvite> {
    return this.call<NewInvite>("POST", "/v1/invites", { body: options });
  }

  invites(): Promise<Invite[]> {
    return this.call<Invite[]>("GET", "/v1/invites");
  }

  // By its code, or by the id from invites().
  async revokeInvite(codeOrId: string): Promise<void> {
    await this.call("DELETE", `/v1/invites/${encodeURIComponent(codeOrId)}`);
  }

  // Admins only: the users, newest first; pass the last id as before for the next page.
  adminUsers(query: { q?: string; limit?: number; before?: number } = {}): Promise<AdminUser[]> {
    return this.call<AdminUser[]>("GET", `/v1/admin/users${search(query)}`);
  }

  updateUser(id: number, change: { disabled?: boolean; admin?: boolean }): Promise<AdminUser> {
    return this.call<AdminUser>("PATCH", `/v1/admin/users/${id}`, { body: change });
  }

  async deleteUser(id: number): Promise<void> {
    await this.call("DELETE", `/v1/admin/users/${id}`);
  }

  health(): Promise<Health> {
    return this.call<Health>("GET", "/healthz");
  }

  ready(): Promise<Readiness> {
    return this.call<Readiness>("GET", "/readyz");
  }

  private start(s: Session): Session {
    this.session = s.session_id;
    return s;
  }

  private async call<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.send<T>(method, path, opts)).body;
  }

  private async send<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Reply<T>> {
    const session = this.current ?? undefined;
    const reply = await this.request<T>(method, path, { ...opts, session });
    if (reply.status >= 200 && reply.status < 300) return reply;
    const e = errorOf(reply.body);
    if (!e) throw new NetworkError(`The server answered ${reply.status}.`, reply.status);
    if (reply.status === 401 && session) this.options.onUnauthorized?.();
    throw new ApiError(reply.status, e.code, e.message, retryAfterSeconds(reply.headers.get("retry-after")));
  }
}

function search(query: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

const reactionPath = (roomId: number, messageId: number, emoji: string) =>
  `/v1/rooms/${roomId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
