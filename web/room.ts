// An open room: history with scroll-back, live messages, pending sends, typing, presence, read markers.
import { api, ApiError, type Message, newClientId, type Room, type User } from "./api.ts";
import { h, localTime } from "./dom.ts";
import { People } from "./people.ts";
import { ReadTracker } from "./read.ts";
import { type ConnState, type Frame, RoomSocket } from "./socket.ts";

const PAGE = 50;
const TYPING_EVERY_MS = 2000;
const MAX_FRAME_BYTES = 60 * 1024; // the server closes the socket on frames over 64 KiB

type Pending = { el: HTMLElement; text: string };

export type RoomHost = { loggedOut(): void; activity(): void; back(): void };

export function roomTitle(room: Room, me: User): string {
  const others = room.users.filter((u) => u.id !== me.id).map((u) => u.login);
  return others.length ? others.join(", ") : `${me.login} (just you)`;
}

export class RoomView {
  readonly el: HTMLElement;
  private list = h("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  private scroller: HTMLElement;
  private older = h("button", { type: "button", class: "older" }, "Load earlier messages");
  private status = h("p", { class: "status", role: "status" });
  private input = h("textarea", { id: "text", rows: "1", placeholder: "Write a message", "aria-label": "Message" });
  private error = h("p", { class: "form-error", role: "alert" });
  private byId = new Map<number, HTMLElement>();
  private pending = new Map<string, Pending>();
  private people: People;
  private socket?: RoomSocket;
  private lastId = 0;
  private oldestId = Infinity;
  private exhausted = false;
  private loading = false;
  private lastTypingSent = 0;
  private stick = true;
  private closed = false;
  private read: ReadTracker;

  constructor(
    readonly room: Room,
    private me: User,
    private host: RoomHost,
  ) {
    this.people = new People(room.users.filter((u) => u.id !== me.id));
    const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
    back.onclick = () => host.back();
    this.older.onclick = () => this.loadOlder();
    this.scroller = h("div", { class: "scroller" }, this.older, this.list);
    this.scroller.onscroll = () => {
      this.stick = this.atEnd();
      if (this.scroller.scrollTop < 150) this.loadOlder();
    };
    // A resized window (a phone turned, the keyboard shown) keeps the newest message in view.
    new ResizeObserver(() => this.stick && this.scrollToEnd()).observe(this.scroller);
    const form = h(
      "form",
      { class: "composer", id: "composer" },
      this.input,
      h("button", { type: "submit", class: "primary" }, "Send"),
    );
    form.onsubmit = (e) => {
      e.preventDefault();
      this.send();
    };
    this.input.onkeydown = (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    };
    this.input.oninput = () => {
      this.grow();
      this.error.textContent = "";
      if (Date.now() - this.lastTypingSent > TYPING_EVERY_MS && this.socket?.send({ type: "typing" }))
        this.lastTypingSent = Date.now();
    };
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
      this.scroller,
      this.people.typing,
      this.error,
      form,
    );
    this.read = new ReadTracker(this.scroller, (id) => !!this.socket?.send({ type: "read", message_id: id }));
  }

  async start() {
    this.setState("connecting");
    try {
      const latest = await api<Message[]>("GET", `/v1/rooms/${this.room.id}/messages?limit=${PAGE}`);
      this.addPage(latest);
    } catch (e) {
      this.error.textContent = (e as Error).message;
    }
    this.scrollToEnd();
    if (this.closed) return; // left while the history was loading
    this.socket = new RoomSocket(this.room.id, {
      frame: (f) => this.onFrame(f),
      state: (s) => this.setState(s),
      lastId: () => this.lastId,
      loggedOut: () => this.host.loggedOut(),
      mayReconnect: () => this.mayReconnect(),
    });
  }

  focus() {
    this.input.focus();
  }

  close() {
    this.closed = true;
    this.read.close(); // what was seen just before leaving counts
    this.socket?.close();
    this.people.unknown();
  }

  private async mayReconnect() {
    try {
      await api("GET", `/v1/rooms/${this.room.id}`);
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
    // Unacknowledged sends go out again with the same client_id: the server stores each once.
    for (const [clientId, p] of this.pending) this.socket!.send({ text: p.text, client_id: clientId });
    this.read.flush();
  }

  private onFrame(f: Frame) {
    if (f.error) return this.onError(f);
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
        return this.resync();
    }
  }

  private onMessage(m: Message) {
    const wasAtEnd = this.atEnd();
    const mine = m.client_id !== undefined && this.pending.has(m.client_id);
    if (mine) {
      this.pending.get(m.client_id!)!.el.remove();
      this.pending.delete(m.client_id!);
    }
    this.insert(m);
    this.lastId = Math.max(this.lastId, m.id);
    this.people.stopped(m.user_id);
    if (wasAtEnd || mine) this.scrollToEnd();
    this.host.activity();
  }

  private onError(f: Frame) {
    this.error.textContent = f.error.message ?? "The server refused that.";
    const p = f.client_id && this.pending.get(f.client_id);
    if (!p) return;
    // Not stored: take it out of the list and give the text back to edit.
    p.el.remove();
    this.pending.delete(f.client_id);
    if (!this.input.value) {
      this.input.value = p.text;
      this.grow();
    }
  }

  private send() {
    const text = this.input.value;
    if (!text.trim()) return;
    const clientId = newClientId();
    if (new TextEncoder().encode(JSON.stringify({ text, client_id: clientId })).length > MAX_FRAME_BYTES) {
      this.error.textContent = "This message is too long.";
      return;
    }
    const el = this.bubble({
      id: 0,
      text,
      user_id: this.me.id,
      room_id: this.room.id,
      created_at: new Date().toISOString(),
    });
    el.classList.add("pending");
    el.title = "Sending…";
    this.list.append(el);
    this.pending.set(clientId, { el, text });
    this.socket?.send({ text, client_id: clientId }); // if closed, it goes out on reconnect
    this.input.value = "";
    this.grow();
    this.error.textContent = "";
    this.lastTypingSent = 0;
    this.scrollToEnd();
  }

  private bubble(m: Message): HTMLElement {
    const mine = m.user_id === this.me.id;
    return h(
      "li",
      {
        class: mine ? "msg mine" : "msg",
        "data-id": String(m.id),
        "data-user": String(m.user_id),
        title: new Date(m.created_at).toLocaleString(),
      },
      h("span", { class: "author" }, mine ? this.me.login : this.people.name(m.user_id)),
      h("div", { class: "text" }, m.text),
      localTime(m.created_at),
    );
  }

  // Stored messages stay in id order, above the pending ones; an id already shown is skipped.
  private insert(m: Message) {
    if (this.byId.has(m.id)) return;
    const el = this.bubble(m);
    this.byId.set(m.id, el);
    let before: Element | null = null;
    for (const other of this.list.children) {
      const id = Number((other as HTMLElement).dataset.id);
      if (id === 0 || id > m.id) {
        before = other;
        break;
      }
    }
    this.list.insertBefore(el, before);
    this.group(el);
    if (el.nextElementSibling) this.group(el.nextElementSibling as HTMLElement);
    if (m.user_id !== this.me.id) this.read.watch(el);
  }

  // A message right after another by the same person (within 5 minutes) drops the repeated name.
  private group(el: HTMLElement) {
    const prev = el.previousElementSibling as HTMLElement | null;
    const time = (e: HTMLElement) => Date.parse(e.querySelector("time")!.dateTime);
    const follows = !!prev && prev.dataset.user === el.dataset.user && time(el) - time(prev) < 5 * 60_000;
    el.classList.toggle("follows", follows);
  }

  private addPage(page: Message[]) {
    for (const m of page) this.insert(m);
    if (page.length) {
      this.oldestId = Math.min(this.oldestId, page[0]!.id);
      this.lastId = Math.max(this.lastId, page.at(-1)!.id);
    }
    if (page.length < PAGE) this.exhausted = true;
    this.older.hidden = this.exhausted;
  }

  private async loadOlder() {
    if (this.loading || this.exhausted) return;
    this.loading = true;
    try {
      const q = this.oldestId === Infinity ? "" : `&before=${this.oldestId}`;
      const page = await api<Message[]>("GET", `/v1/rooms/${this.room.id}/messages?limit=${PAGE}${q}`);
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.addPage(page);
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom; // keep the view where it was
    } catch (e) {
      this.error.textContent = (e as Error).message;
    } finally {
      this.loading = false;
    }
  }

  // More than 1000 were missed: start again from the latest page; scroll-back reaches the rest.
  private async resync() {
    for (const el of this.byId.values()) {
      this.read.forget(el);
      el.remove();
    }
    this.byId.clear();
    this.oldestId = Infinity;
    this.exhausted = false;
    await this.loadOlder();
    this.scrollToEnd();
  }

  private onRead(userId: number, messageId: number) {
    if (userId === this.me.id) {
      this.read.movedTo(messageId);
      return this.host.activity();
    }
    this.people.seen(userId, [...this.byId.entries()].filter(([id]) => id <= messageId).at(-1)?.[1]);
  }

  private atEnd() {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
  }

  private scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.stick = true;
  }

  private grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 160)}px`;
    this.input.style.overflowY = this.input.scrollHeight > 160 ? "auto" : "hidden";
  }
}
