// The open room's messages on screen: stored ones in id order with pending sends below them, a name
// shown once per run of messages by one person, scrolling that stays at the newest, read tracking, and the
// changes messages go through (edits, deletes, reactions). Clicks on a message's parts go to its actions.
import type { Message, Reaction, User } from "../client/index.ts";
import { attachments, expireLinks, staleLink } from "./attachment.ts";
import { type BubbleContext, bubble, fill, showQuote } from "./bubble.ts";
import type { Mentionable } from "./markup.ts";
import type { People } from "./people.ts";
import { h } from "./dom.ts";
import { ReadTracker } from "./read.ts";

export type MessageActions = {
  jump(messageId: number): void; // a reply's quote was clicked
  toggleReaction(messageId: number, emoji: string): void;
  menu(messageId: number, el: HTMLElement): void;
  original(messageId: number): Promise<Message | null>; // a replied message not on screen (null: deleted)
  renewFiles(messageId: number, fileId: string): void; // a file's link may have expired: fresh ones, then open it
};

type Shown = { m: Message; el: HTMLElement };
const LONG_PRESS_MS = 500;

export class MessageList {
  readonly scroller: HTMLElement;
  readonly read: ReadTracker;
  private list = h("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  private byId = new Map<number, Shown>();
  private originals = new Map<number, Message | null>(); // replied messages fetched, not on screen
  private stick = true;
  private ctx: BubbleContext;

  constructor(
    private me: User,
    people: People,
    members: () => Mentionable[],
    private actions: MessageActions,
    sendRead: (messageId: number) => boolean,
    edges: { nearTop(): void; nearEnd(): void },
  ) {
    this.ctx = { me, name: (id) => people.name(id), members, quoted: (id) => this.byId.get(id)?.m };
    this.scroller = h("div", { class: "scroller" }, this.list);
    this.scroller.onscroll = () => {
      this.stick = this.atEnd();
      if (this.scroller.scrollTop < 150) edges.nearTop();
      if (this.atEnd()) edges.nearEnd();
    };
    // A resized window (a phone turned, the keyboard shown) keeps the newest message in view.
    new ResizeObserver(() => this.stick && this.scrollToEnd()).observe(this.scroller);
    this.read = new ReadTracker(this.scroller, sendRead);
    this.list.onclick = (e) => this.clicked(e);
    this.list.onpointerdown = (e) => this.pressed(e);
  }

  // Stored messages stay in id order, above the pending ones; an id already shown is skipped.
  insert(m: Message) {
    if (this.byId.has(m.id) || m.deleted) return;
    const el = bubble(m, this.ctx);
    this.byId.set(m.id, { m, el });
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
    this.requote(m.id, m);
    if (m.reply_to && !this.byId.has(m.reply_to)) void this.fetchOriginal(el, m.reply_to);
  }

  // A message sent but not yet stored goes at the end until the server's copy replaces it.
  addPending(m: Message): HTMLElement {
    const el = bubble(m, this.ctx);
    el.classList.add("pending");
    el.title = "Sending…";
    this.list.append(el);
    return el;
  }

  message(id: number): Message | undefined {
    return this.byId.get(id)?.m;
  }

  has(id: number) {
    return this.byId.has(id);
  }

  // The viewer's newest stored message on screen (↑ edits it).
  lastMine(): Message | undefined {
    let best: Message | undefined;
    for (const { m } of this.byId.values()) if (m.user_id === this.me.id && (!best || m.id > best.id)) best = m;
    return best;
  }

  // An edit (or a replayed edit of a message deleted since: its tombstone).
  update(m: Message) {
    if (m.deleted) return this.remove(m.id);
    const shown = this.byId.get(m.id);
    if (!shown) return;
    shown.m = m;
    fill(shown.el, m, this.ctx);
    this.requote(m.id, m);
  }

  // The message's files again, with the fresh URLs of m: the file element with fileId, to open.
  renewFiles(m: Message, fileId: string): HTMLElement | null {
    const shown = this.byId.get(m.id);
    if (!shown) return null;
    shown.m = { ...shown.m, files: m.files };
    const files = attachments(m.files ?? []);
    shown.el.querySelector(".files")!.replaceWith(files);
    return files.querySelector<HTMLElement>(`[data-file="${CSS.escape(fileId)}"]`);
  }

  // A member left: the URLs of the files on screen no longer work, a click fetches fresh ones.
  expireFiles() {
    expireLinks(this.list);
  }

  setReactions(id: number, reactions: Reaction[]) {
    const shown = this.byId.get(id);
    if (shown) this.update({ ...shown.m, reactions: reactions.length ? reactions : undefined });
  }

  remove(id: number) {
    this.originals.set(id, null);
    this.requote(id, null);
    const shown = this.byId.get(id);
    if (!shown) return;
    this.byId.delete(id);
    this.read.forget(shown.el);
    const next = shown.el.nextElementSibling as HTMLElement | null;
    shown.el.remove();
    if (next) this.group(next);
  }

  // Scrolls the message into the middle of the view and marks it (with a search's highlights, if given).
  reveal(id: number, highlights?: [number, number][]) {
    const shown = this.byId.get(id);
    if (!shown) return false;
    for (const old of this.list.querySelectorAll(".msg.target")) old.classList.remove("target");
    if (highlights) fill(shown.el, shown.m, this.ctx, highlights);
    shown.el.classList.add("target");
    shown.el.scrollIntoView({ block: "center" });
    this.stick = this.atEnd();
    return true;
  }

  clear() {
    for (const { el } of this.byId.values()) {
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
    return this.byId.get(best)?.el;
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

  // Quotes of a message follow it: shown when it arrives or changes, "Deleted message" once it is gone.
  private requote(id: number, m: Message | null) {
    for (const q of this.list.querySelectorAll<HTMLElement>(`.reply-quote[data-reply-to="${id}"]`))
      showQuote(q, m, this.ctx);
  }

  private async fetchOriginal(el: HTMLElement, id: number) {
    if (!this.originals.has(id)) this.originals.set(id, await this.actions.original(id).catch(() => null));
    const quote = el.querySelector<HTMLElement>(".reply-quote");
    if (quote && !this.byId.has(id)) showQuote(quote, this.originals.get(id), this.ctx);
  }

  private clicked(e: MouseEvent) {
    const target = e.target as HTMLElement;
    const el = target.closest<HTMLElement>(".msg");
    const id = Number(el?.dataset.id);
    if (!el || !id) return;
    const stale = staleLink(target);
    if (stale) {
      e.preventDefault();
      return this.actions.renewFiles(id, stale.dataset.file!);
    }
    const quote = target.closest<HTMLElement>(".reply-quote");
    if (quote) return this.actions.jump(Number(quote.dataset.replyTo));
    const chip = target.closest<HTMLElement>(".reaction");
    if (chip && !chip.classList.contains("held")) return this.actions.toggleReaction(id, chip.dataset.emoji!);
    chip?.classList.remove("held");
    if (target.closest(".msg-menu")) this.actions.menu(id, el);
  }

  // A long press on a reaction (touch has no hover) shows who reacted under the chips, instead of toggling it.
  private pressed(e: PointerEvent) {
    const chip = (e.target as HTMLElement).closest<HTMLElement>(".reaction");
    if (!chip) return;
    const timer = setTimeout(() => {
      chip.classList.add("held");
      const row = chip.parentElement!;
      row.querySelector(".reaction-who")?.remove();
      row.append(h("span", { class: "reaction-who" }, `${chip.dataset.emoji} ${chip.title}`));
    }, LONG_PRESS_MS);
    const stop = () => clearTimeout(timer);
    chip.addEventListener("pointerup", stop, { once: true });
    chip.addEventListener("pointerleave", stop, { once: true });
  }

  // A message right after another by the same person (within 5 minutes) drops the repeated name.
  private group(el: HTMLElement) {
    const prev = el.previousElementSibling as HTMLElement | null;
    const time = (e: HTMLElement) => Date.parse(e.querySelector("time")!.dateTime);
    const follows = !!prev && prev.dataset.user === el.dataset.user && time(el) - time(prev) < 5 * 60_000;
    el.classList.toggle("follows", follows);
  }
}
