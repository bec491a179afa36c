// An open room: wires its parts (message list, history, composer, people) to one socket and
// dispatches the socket's frames and connection states to them.
import type { ApiError, Message, Room, User } from "../client/index.ts";
import { client } from "./client.ts";
import { Composer } from "./composer.ts";
import { h } from "./dom.ts";
import { History } from "./history.ts";
import { MessageList } from "./message-list.ts";
import { People } from "./people.ts";
import { type ConnState, type Frame, RoomSocket } from "./socket.ts";

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
  private closed = false;

  constructor(
    readonly room: Room,
    private me: User,
    private host: RoomHost,
  ) {
    this.people = new People(room.users.filter((u) => u.id !== me.id));
    const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
    back.onclick = () => host.back();
    const sendRead = (id: number) => !!this.socket?.send({ type: "read", message_id: id });
    this.list = new MessageList(me, this.people, sendRead, () => this.history.loadOlder());
    this.composer = new Composer(me, room.id, this.list, (frame) => this.socket?.send(frame));
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
    this.socket = new RoomSocket(this.room.id, {
      frame: (f) => this.onFrame(f),
      state: (s) => this.setState(s),
      lastId: () => this.history.lastId,
      loggedOut: () => this.host.loggedOut(),
      mayReconnect: () => this.mayReconnect(),
    });
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

  private async mayReconnect() {
    try {
      await client.getRoom(this.room.id);
      return true;
    } catch (e) {
      const code = (e as ApiError).code;
      if (code === "unauthorized" || code === "room_not_found") {
        this.status.textContent = code === "room_not_found" ? "This room is gone." : "";
        return false;
      }
      return true; // the server is still away: keep trying
    }
  }

  private setState(s: ConnState) {
    this.el.dataset.state = s;
    this.status.textContent = s === "reconnecting" ? "Reconnecting…" : s === "connecting" ? "Connecting…" : "";
    if (s !== "open") return this.people.unknown(); // the server sends presence again on connect
    this.composer.resend(); // the server stores each client_id once
    this.list.read.flush();
  }

  private onFrame(f: Frame) {
    if (f.error) return this.composer.refused(f);
    switch (f.type ?? "message") {
      case "message":
        return this.onMessage(f as Message);
      case "typing":
        return this.people.typed(f.user_id);
      case "presence":
        return this.people.online(f.online);
      case "read":
        return this.onRead(f.user_id, f.message_id);
      case "resync":
        return this.history.resync();
    }
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
