// An open room: wires its parts (message list, history, composer, people) to one socket and
// dispatches the socket's frames and connection states to them.
import {
  ApiError,
  type ConnectionState,
  type Ended,
  type Info,
  type MembersFrame,
  type Message,
  type Room,
  type RoomSocket,
  type User,
} from "../client/index.ts";
import { client } from "./client.ts";
import { Composer } from "./composer.ts";
import { h } from "./dom.ts";
import { History } from "./history.ts";
import { MembersPanel } from "./members.ts";
import { MessageList } from "./message-list.ts";
import { People } from "./people.ts";

export type RoomHost = { loggedOut(): void; activity(): void; back(): void; left(): void };

// A group by its name; a direct room by the others in it.
export function roomTitle(room: Room, me: User): string {
  if (room.name !== null) return room.name;
  const others = room.users.filter((u) => u.id !== me.id).map((u) => u.login);
  return others.length ? others.join(", ") : `${me.login} (just you)`;
}

export class RoomView {
  readonly el: HTMLElement;
  private status = h("p", { class: "status", role: "status" });
  private title = h("h2", {});
  private topic = h("p", { class: "topic" });
  private members?: MembersPanel;
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
    private me: Info,
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
        h("div", { class: "title" }, this.title, this.topic, this.people.presence),
        this.status,
        room.kind === "group" ? this.membersToggle() : null,
      ),
      this.list.scroller,
      this.people.typing,
      this.composer.error,
      this.composer.form,
    );
    this.showRoom(room);
  }

  // A group's members panel, a drawer over the messages' right side, shown on demand.
  private membersToggle(): HTMLElement {
    const button = h("button", { type: "button", class: "members-toggle", "aria-expanded": "false" }, "Members");
    button.onclick = () => {
      if (!this.members) {
        this.members = new MembersPanel(this.room, this.me, { left: () => this.host.left() });
        this.el.append(this.members.el);
      } else this.members.el.hidden = !this.members.el.hidden;
      button.setAttribute("aria-expanded", String(!this.members.el.hidden));
    };
    return button;
  }

  private showRoom(room: Room) {
    Object.assign(this.room, room);
    this.title.textContent = roomTitle(this.room, this.me);
    this.topic.textContent = this.room.topic ?? "";
    this.topic.hidden = !this.room.topic;
    this.people.setOthers(this.room.users.filter((u) => u.id !== this.me.id));
    this.members?.show(this.room);
  }

  async start() {
    this.setState("connecting");
    await this.history.loadLatest();
    this.list.scrollToEnd();
    if (this.closed) return; // left while the history was loading
    const socket = client.roomSocket(this.room.id, {
      after: this.history.lastSeq, // members among the events: the socket counts in the room's order
      events: ["typing", "presence", "read", "members"],
    });
    this.socket = socket;
    socket.on("state", (s) => this.setState(s.state));
    socket.on("message", (m) => this.onMessage(m));
    socket.on("typing", (f) => this.people.typed(f.user_id));
    socket.on("presence", (f) => this.people.online(f.online));
    socket.on("read", (f) => this.onRead(f.user_id, f.message_id));
    socket.on("resync", () => this.history.resync());
    socket.on("members", (f) => this.onMembers(f));
    socket.on("room", (f) => (this.showRoom({ ...f.room, users: this.room.users }), this.host.activity()));
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

  private onMembers(f: MembersFrame) {
    this.showRoom({ ...this.room, users: f.users });
    this.host.activity();
  }

  // For good: logged out (4001), removed from the group (4003), or the check before a reconnect found the
  // session or the room gone.
  private onClosed(end: Ended) {
    if (end.code === 4001) return this.host.loggedOut();
    if (end.code === 4003) {
      this.status.textContent = "You are no longer in this group.";
      this.composer.form.hidden = true;
      return this.host.activity();
    }
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
    this.history.received(m);
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
