// The open room's history: the latest page on opening, older pages on scroll-back, a fresh start after a
// resync, and the page around one message (a reply's original, a search result). Around a message the list
// is cut off from the newest: live messages wait aside while newer pages load on scroll-down, and join once
// the newest page is reached.
import type { Message } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";
import type { MessageList } from "./message-list.ts";

const PAGE = 50;
const AROUND = 25;

export class History {
  readonly older = h("button", { type: "button", class: "older" }, "Load earlier messages");
  readonly newer = h("button", { type: "button", class: "newer" }, "Jump to the newest messages");
  private oldestId = Infinity;
  private exhausted = false;
  private loading = false;
  private detached: { newestId: number; waiting: Message[] } | null = null; // not at the newest: live ones wait

  constructor(
    private roomId: number,
    private list: MessageList,
    private showError: (text: string) => void,
  ) {
    this.older.onclick = () => this.loadOlder();
    this.newer.onclick = () => this.loadNewest();
    this.newer.hidden = true;
  }

  // A live message: shown, unless the list is away from the newest (then it joins when that is reached).
  received(m: Message): boolean {
    if (!this.detached) return true;
    this.detached.waiting.push(m);
    return false;
  }

  // A change to a message waiting aside (an edit, a reaction; null: deleted).
  changed(id: number, change: (m: Message) => Message | null) {
    const waiting = this.detached?.waiting;
    const i = waiting?.findIndex((m) => m.id === id) ?? -1;
    if (i < 0) return;
    const m = change(waiting![i]!);
    if (m) waiting![i] = m;
    else waiting!.splice(i, 1);
  }

  get atNewest() {
    return !this.detached;
  }

  async loadLatest() {
    try {
      const latest = await client.messages(this.roomId, { limit: PAGE });
      this.addPage(latest);
    } catch (e) {
      this.showError((e as Error).message);
    }
  }

  async loadOlder() {
    if (this.loading || this.exhausted) return;
    this.loading = true;
    try {
      const before = this.oldestId === Infinity ? undefined : this.oldestId;
      const page = await client.messages(this.roomId, { limit: PAGE, before });
      this.list.keepingPosition(() => this.addPage(page));
    } catch (e) {
      this.showError((e as Error).message);
    } finally {
      this.loading = false;
    }
  }

  // The pages around message id, in place of what is shown unless it is shown already. False when it is gone.
  // Live messages wait aside while the pages load, so none is lost between the two reads and the restart.
  async around(id: number): Promise<boolean> {
    if (this.list.has(id)) return true;
    const was = this.detached;
    this.detached = { newestId: was?.newestId ?? 0, waiting: was?.waiting ?? [] };
    this.loading = true;
    try {
      const [before, after] = await Promise.all([
        client.messages(this.roomId, { before: id + 1, limit: AROUND }),
        client.messages(this.roomId, { after: id, limit: AROUND }),
      ]);
      this.list.clear();
      this.oldestId = Infinity;
      this.exhausted = false;
      this.addPage(before, AROUND);
      for (const m of after) this.list.insert(m);
      if (after.length < AROUND) this.attach();
      else this.detach(after.at(-1)!.id);
      return this.list.has(id);
    } catch (e) {
      if (!was) this.attach(); // as it was
      this.showError((e as Error).message);
      return false;
    } finally {
      this.loading = false;
    }
  }

  // Scrolled down near the end of a list cut off from the newest: the next newer page.
  async loadNewer() {
    if (this.loading || !this.detached) return;
    this.loading = true;
    try {
      const page = await client.messages(this.roomId, { after: this.detached.newestId, limit: PAGE });
      for (const m of page) this.list.insert(m);
      if (page.length < PAGE) this.attach();
      else this.detached.newestId = page.at(-1)!.id;
    } catch (e) {
      this.showError((e as Error).message);
    } finally {
      this.loading = false;
    }
  }

  // Back to the latest page, from anywhere.
  async loadNewest() {
    if (this.detached) this.restart();
    await this.loadLatest();
    this.list.scrollToEnd();
  }

  // More than 1000 were missed: start again from the latest page; scroll-back reaches the rest.
  async resync() {
    this.restart();
    await this.loadOlder();
    this.list.scrollToEnd();
  }

  private restart() {
    this.list.clear();
    this.oldestId = Infinity;
    this.exhausted = false;
    this.attach(false);
  }

  private detach(newestId: number) {
    this.detached = { newestId, waiting: this.detached?.waiting ?? [] };
    this.newer.hidden = false;
  }

  // The newest page is on screen: what came live meanwhile joins it.
  private attach(show = true) {
    const waiting = this.detached?.waiting ?? [];
    this.detached = null;
    this.newer.hidden = true;
    if (show) for (const m of waiting) this.list.insert(m);
  }

  private addPage(page: Message[], full = PAGE) {
    for (const m of page) this.list.insert(m);
    if (page.length) this.oldestId = Math.min(this.oldestId, page[0]!.id);
    if (page.length < full) this.exhausted = true;
    this.older.hidden = this.exhausted;
  }
}
