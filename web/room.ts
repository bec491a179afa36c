// An open room: wires its parts (message list, history, composer, people) to the page's one user stream,
// taking the stream's frames for this room and its connection states.
import type { Info, MembersFrame, Message, Reaction, Room, User, UserStream } from "../client/index.ts";
import { client } from "./client.ts";
import { Composer } from "./composer.ts";
import { h } from "./dom.ts";
import { History } from "./history.ts";
import { MembersPanel } from "./members.ts";
import { messageActions } from "./message-actions.ts";
import { closeMenu } from "./message-menu.ts";
import { MessageList } from "./message-list.ts";
import { People } from "./people.ts";
import type { Presence } from "./presence.ts";

// controls: more of the header, after the status (the notification level).
export type RoomHost = { back(): void; left(): void; controls?: HTMLElement[] };
// A message to open the room at (a search result), with the search's highlights in its text.
export type At = { messageId: number; highlights?: [number, number][] };
type State = "connecting" | "open" | "reconnecting" | "closed";

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
  private stops: (() => void)[] = []; // what start() subscribed to
  private closed = false;

  constructor(
    readonly room: Room,
    private me: Info,
    private host: RoomHost,
    private stream: UserStream,
    private presence: Presence,
  ) {
    this.people = new People(room.users.filter((u) => u.id !== me.id));
    const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
    back.onclick = () => host.back();
    this.list = this.messageList();
    this.composer = this.newComposer();
    this.history = new History(room.id, this.list, (text) => this.composer.showError(text));
    this.list.scroller.prepend(this.history.older);
    this.list.scroller.append(this.history.newer);
    this.el = h(
      "div",
      { class: "room-view" },
      h(
        "header",
        { class: "bar" },
        back,
        h("div", { class: "title" }, this.title, this.topic, this.people.presence),
        this.status,
        ...(host.controls ?? []),
        room.kind === "group" ? this.membersToggle() : null,
      ),
      this.list.scroller,
      this.people.typing,
      this.composer.error,
      this.composer.form,
    );
    this.composer.acceptDrops(this.el);
    this.showRoom(room);
  }

  // The messages on screen, their actions wired to this room (by REST) and their edges to the history.
  private messageList(): MessageList {
    const actions = messageActions({
      room: this.room,
      me: this.me,
      list: () => this.list,
      composer: () => this.composer,
      jump: (id) => void this.jumpTo({ messageId: id }),
    });
    const edges = { nearTop: () => this.history.loadOlder(), nearEnd: () => this.history.loadNewer() };
    const sendRead = (id: number) => this.stream.read(this.room.id, id);
    return new MessageList(this.me, this.people, () => this.room.users, actions, sendRead, edges);
  }

  // Sends go out on the stream (replies too), edits by REST; @ completes the other members.
  private newComposer(): Composer {
    const roomId = this.room.id;
    return new Composer(this.me, roomId, this.list, {
      send: (text, clientId, replyTo, files) => this.stream.send(roomId, text, { clientId, replyTo, files }),
      typing: () => this.stream.typing(roomId),
      edit: async (m, text) => void (await client.editMessage(roomId, m.id, text)),
      lastMine: () => this.list.lastMine(),
      others: () => this.room.users.filter((u) => u.id !== this.me.id),
      name: (id) => this.people.name(id),
    });
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

  // The room as it is now; its users as REST lists them: the viewer first, then the others in join order
  // (members and room frames list everyone in join order).
  private showRoom(room: Room) {
    const me = room.users.filter((u) => u.id === this.me.id);
    Object.assign(this.room, room, { users: [...me, ...room.users.filter((u) => u.id !== this.me.id)] });
    this.title.textContent = roomTitle(this.room, this.me);
    this.topic.textContent = this.room.topic ?? "";
    this.topic.hidden = !this.room.topic;
    this.people.setOthers(this.room.users.filter((u) => u.id !== this.me.id));
    this.showPresence();
    this.members?.show(this.room);
  }

  private showPresence() {
    this.people.online(this.presence.among(this.room.users.map((u) => u.id).filter((id) => id !== this.me.id)));
  }

  // Subscribes to this room's frames on the stream first, then loads the latest page (or the page around
  // at): a message that arrives meanwhile is shown once either way (the list skips ids it has).
  async start(at?: At) {
    const mine =
      <T extends { room_id: number }>(f: (frame: T) => void) =>
      (frame: T) =>
        frame.room_id === this.room.id && !this.closed && f(frame);
    const s = this.stream;
    this.stops.push(
      s.on("state", (c) => this.setState(c.state === "open" ? (s.open ? "open" : "connecting") : c.state)),
      s.on("synced", () => this.setState("open")),
      s.on(
        "message",
        mine((m) => this.onMessage(m)),
      ),
      s.on(
        "typing",
        mine((f) => f.user_id !== this.me.id && this.people.typed(f.user_id)),
      ),
      s.on(
        "read",
        mine((f) => this.onRead(f.user_id, f.message_id)),
      ),
      s.on(
        "resync",
        mine(() => void this.history.resync()),
      ),
      s.on(
        "edit",
        mine((f) => this.onEdit(f.message)),
      ),
      s.on(
        "delete",
        mine((f) => this.onDelete(f.message_id)),
      ),
      s.on(
        "reaction",
        mine((f) => this.onReactions(f.message_id, f.reactions)),
      ),
      s.on(
        "members",
        mine((f) => this.onMembers(f)),
      ),
      s.on(
        "room",
        mine((f) => this.showRoom({ ...f.room, users: this.room.users })),
      ),
      s.on(
        "room_removed",
        mine(() => this.removed()),
      ),
      s.on("error", (e) => this.composer.showError(e.message)),
      this.presence.onChange(() => this.showPresence()),
    );
    this.setState(s.open ? "open" : "connecting");
    if (at) return this.jumpTo(at);
    await this.history.loadLatest();
    this.list.scrollToEnd();
  }

  // Shows a message of this room (loading the history around it if needed), marked, with highlights if given.
  async jumpTo(at: At) {
    if (!(await this.history.around(at.messageId))) return this.composer.showError("That message is no longer there.");
    if (!this.closed) this.list.reveal(at.messageId, at.highlights);
  }

  focus() {
    this.composer.focus();
  }

  close() {
    this.closed = true;
    closeMenu();
    this.composer.close();
    this.list.read.close(); // what was seen just before leaving counts
    for (const stop of this.stops.splice(0)) stop();
    this.people.unknown();
  }

  private onMembers(f: MembersFrame) {
    const staying = new Set(f.users.map((u) => u.id));
    if (this.room.users.some((u) => !staying.has(u.id))) this.list.expireFiles(); // signed for the old members
    this.showRoom({ ...this.room, users: f.users });
  }

  // Left or removed (on this device or another): nothing more comes from this room.
  private removed() {
    this.status.textContent = this.room.kind === "group" ? "You are no longer in this group." : "This room is gone.";
    this.composer.form.hidden = true;
  }

  private setState(s: State) {
    this.el.dataset.state = s;
    this.status.textContent = s === "reconnecting" ? "Reconnecting…" : s === "connecting" ? "Connecting…" : "";
    if (s !== "open") return this.people.unknown(); // presence is known again once the stream has synced
    this.showPresence();
    this.list.read.flush(); // unacknowledged messages go out again by themselves (client/)
  }

  private onMessage(m: Message) {
    const wasAtEnd = this.list.atEnd();
    const mine = this.composer.acknowledged(m.client_id);
    this.people.stopped(m.user_id);
    if (!this.history.received(m)) {
      if (mine) void this.history.loadNewest(); // sent while reading back: to the newest, with it
      return;
    }
    this.list.insert(m);
    if (wasAtEnd || mine) this.list.scrollToEnd();
  }

  private onEdit(m: Message) {
    this.list.update(m);
    this.history.changed(m.id, () => (m.deleted ? null : m));
  }

  private onDelete(id: number) {
    this.list.remove(id);
    this.history.changed(id, () => null);
    this.composer.removed(id);
  }

  private onReactions(id: number, reactions: Reaction[]) {
    this.list.setReactions(id, reactions);
    this.history.changed(id, (m) => ({ ...m, reactions: reactions.length ? reactions : undefined }));
  }

  private onRead(userId: number, messageId: number) {
    if (userId === this.me.id) {
      return this.list.read.movedTo(messageId);
    }
    this.people.seen(userId, this.list.shownUpTo(messageId));
  }
}
