// The open room's messages on screen: stored ones in id order with pending sends below them, a name
// shown once per run of messages by one person, scrolling that stays at the newest, and read tracking.
import type { Message, User } from "../client/index.ts";
import { h, localTime } from "./dom.ts";
import type { People } from "./people.ts";
import { ReadTracker } from "./read.ts";

export class MessageList {
  readonly scroller: HTMLElement;
  readonly read: ReadTracker;
  private list = h("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  private byId = new Map<number, HTMLElement>();
  private stick = true;

  constructor(
    private me: User,
    private people: People,
    sendRead: (messageId: number) => boolean,
    nearTop: () => void,
  ) {
    this.scroller = h("div", { class: "scroller" }, this.list);
    this.scroller.onscroll = () => {
      this.stick = this.atEnd();
      if (this.scroller.scrollTop < 150) nearTop();
    };
    // A resized window (a phone turned, the keyboard shown) keeps the newest message in view.
    new ResizeObserver(() => this.stick && this.scrollToEnd()).observe(this.scroller);
    this.read = new ReadTracker(this.scroller, sendRead);
  }

  // Stored messages stay in id order, above the pending ones; an id already shown is skipped.
  insert(m: Message) {
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

  // A message sent but not yet stored goes at the end until the server's copy replaces it.
  addPending(m: Message): HTMLElement {
    const el = this.bubble(m);
    el.classList.add("pending");
    el.title = "Sending…";
    this.list.append(el);
    return el;
  }

  clear() {
    for (const el of this.byId.values()) {
      this.read.forget(el);
      el.remove();
    }
    this.byId.clear();
  }

  // The element another person's read marker points at: the shown one with the highest id up to messageId
  // (byId is in arrival order, and older pages arrive after newer messages).
  shownUpTo(messageId: number): HTMLElement | undefined {
    let best = 0;
    for (const id of this.byId.keys()) if (id <= messageId && id > best) best = id;
    return this.byId.get(best);
  }

  // Adds above what is in view without moving the view.
  keepingPosition(add: () => void) {
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    add();
    this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
  }

  atEnd() {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.stick = true;
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

  // A message right after another by the same person (within 5 minutes) drops the repeated name.
  private group(el: HTMLElement) {
    const prev = el.previousElementSibling as HTMLElement | null;
    const time = (e: HTMLElement) => Date.parse(e.querySelector("time")!.dateTime);
    const follows = !!prev && prev.dataset.user === el.dataset.user && time(el) - time(prev) < 5 * 60_000;
    el.classList.toggle("follows", follows);
  }
}
