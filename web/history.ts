// The open room's history: the latest page on opening, older pages on scroll-back, a fresh start after a
// resync, and the newest message seen, after which the socket resumes.
import type { Message } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";
import type { MessageList } from "./message-list.ts";

const PAGE = 50;

export class History {
  readonly older = h("button", { type: "button", class: "older" }, "Load earlier messages");
  private newestId = 0;
  private newestSeq = 0;
  private oldestId = Infinity;
  private exhausted = false;
  private loading = false;

  constructor(
    private roomId: number,
    private list: MessageList,
    private showError: (text: string) => void,
  ) {
    this.older.onclick = () => this.loadOlder();
  }

  get lastId() {
    return this.newestId;
  }

  // The newest message's place in the room's order: the socket resumes after it.
  get lastSeq() {
    return this.newestSeq;
  }

  received(m: Message) {
    this.newestId = Math.max(this.newestId, m.id);
    this.newestSeq = Math.max(this.newestSeq, m.seq ?? 0);
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

  // More than 1000 were missed: start again from the latest page; scroll-back reaches the rest.
  async resync() {
    this.list.clear();
    this.oldestId = Infinity;
    this.exhausted = false;
    await this.loadOlder();
    this.list.scrollToEnd();
  }

  private addPage(page: Message[]) {
    for (const m of page) this.list.insert(m);
    if (page.length) {
      this.oldestId = Math.min(this.oldestId, page[0]!.id);
      this.received(page.at(-1)!);
    }
    if (page.length < PAGE) this.exhausted = true;
    this.older.hidden = this.exhausted;
  }
}
