// An open room: wires its parts (message list, history, composer, people) to one socket and
// dispatches the socket's frames and connection states to them.
import {
  ApiError,
  type ConnectionState,
  type Ended,
  type Message,
  type Room,
  type RoomSocket,
  type User,
} from "../client/index.ts";
import { client } from "./client.ts";
import { Composer } from "./composer.ts";
import { h } from "./dom.ts";
import { History } from "./history.ts";
import { MessageList } from "./message-list.ts";
import { People } from "./people.ts";

export type RoomHost = { loggedOut(): void; activity(): void; back(): void };

export function roomTitle(room: Room, me: User): string {
  const others = room.users.filter((u) => u.id !== me.id).map((u) => u.login);
  return others.length ? others.join(", ") : `${me.login} (just you)`;
}

export class RoomView {
  readonly el: HTMLElement;
  private status = h("p", { class: "status", role: "status" });
  private people: People;
  private list: MessageList;
  private history: History;
  private composer: Composer;
  private socket?: RoomSocket;
  private socketReady: Promise<RoomSocket>;
  private ready!: (s: RoomSocket) => void;
  private closed = false;

  constructor(
    readonly room: Room,
    private me: User,
    private host: RoomHost,
  ) {
    this.people = new People(room.users.filter((u) => u.id !== me.id));
    const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
    back.onclick = () => host.back();
    this.socketReady = new Promise((resolve) => (this.ready = resolve));
    const sendRead = (id: number) => !!this.socket?.read(id);
    this.list = new MessageList(me, this.people, sendRead, () => this.history.loadOlder());
    this.composer = new Composer(me, room.id, this.list, {
      send: (text, clientId) => this.socketReady.then((s) => s.send(text, { clientId })),
      typing: () => !!this.socket?.typing(),
    });
    this.history = new History(room.id, this.list, (text) => this.composer.showError(text));
    this.list.scroller.prepend(this.history.older);
    this.el = h(
      "div",
      { class: "room-view" },
      h(
        "header",
        { class: "bar" },
        back,
        h("div", { class: "title" }, h("h2", {}, roomTitle(room, me)), this.people.presence),
        this.status,
      ),
      this.list.scroller,
      this.people.typing,
      this.composer.error,
      this.composer.form,
    );
  }

  async start() {
    this.setState("connecting");
    await this.history.loadLatest();
    this.list.scrollToEnd();
    if (this.closed) return; // left while the history was loading
    const socket = client.roomSocket(this.room.id, {
      after: this.history.lastId,
      events: ["typing", "presence", "read"],
    });
    this.socket = socket;
    socket.on("state", (s) => this.setState(s.state));
    socket.on("message", (m) => this.onMessage(m));
    socket.on("typing", (f) => this.people.typed(f.user_id));
    socket.on("presence", (f) => this.people.online(f.online));
    socket.on("read", (f) => this.onRead(f.user_id, f.message_id));
    socket.on("resync", () => this.history.resync());
    socket.on("error", (e) => this.composer.showError(e.message));
    socket.on("closed", (end) => this.onClosed(end));
    this.ready(socket);
  }

  focus() {
    this.composer.focus();
  }

  close() {
    this.closed = true;
    this.list.read.close(); // what was seen just before leaving counts
    this.socket?.close();
    this.people.unknown();
  }

  // For good: logged out (4001), or the check before a reconnect found the session or the room gone.
  private onClosed(end: Ended) {
    if (end.code === 4001) return this.host.loggedOut();
    if (end.error instanceof ApiError && end.error.code === "room_not_found")
      this.status.textContent = "This room is gone.";
  }

  private setState(s: ConnectionState) {
    this.el.dataset.state = s;
    this.status.textContent = s === "reconnecting" ? "Reconnecting…" : s === "connecting" ? "Connecting…" : "";
    if (s !== "open") return this.people.unknown(); // the server sends presence again on connect
    this.list.read.flush(); // unacknowledged messages go out again by themselves (client/)
  }

  private onMessage(m: Message) {
    const wasAtEnd = this.list.atEnd();
    const mine = this.composer.acknowledged(m.client_id);
    this.list.insert(m);
    this.history.received(m.id);
    this.people.stopped(m.user_id);
    if (wasAtEnd || mine) this.list.scrollToEnd();
    this.host.activity();
  }

  private onRead(userId: number, messageId: number) {
    if (userId === this.me.id) {
      this.list.read.movedTo(messageId);
      return this.host.activity();
    }
    this.people.seen(userId, this.list.shownUpTo(messageId));
  }
}
