// Searching messages over all of the user's rooms (GET /v1/search): results newest first with the words
// found marked, more on demand; a result opens its room at that message.
import type { SearchResult } from "../client/index.ts";
import { client } from "./client.ts";
import { h, localTime } from "./dom.ts";
import { formatText } from "./format.ts";
import type { Mentionable } from "./markup.ts";

export type SearchHost = {
  me: () => number;
  room: (roomId: number) => { title: string; members: Mentionable[] } | undefined;
  open(result: SearchResult): void;
};

const PAGE = 20;
const WAIT_MS = 250;

export class MessageSearch {
  readonly el: HTMLFormElement;
  private input = h("input", {
    id: "message-search",
    type: "search",
    placeholder: "Search messages",
    autocomplete: "off",
    "aria-label": "Search messages in all rooms",
  });
  private error = h("p", { id: "message-search-error", class: "form-error", role: "alert" });
  private results = h("ul", {
    id: "message-results",
    class: "results message-results",
    "aria-label": "Messages found",
  });
  private more = h("button", { type: "button", class: "more-results" }, "More results");
  private next: string | null = null;
  private timer?: ReturnType<typeof setTimeout>;
  private asked = 0; // the newest search sent: older answers are dropped

  constructor(private host: SearchHost) {
    this.more.hidden = true;
    this.el = h("form", { class: "search", role: "search" }, this.input, this.error, this.results, this.more);
    this.el.onsubmit = (e) => {
      e.preventDefault();
      clearTimeout(this.timer);
      void this.run();
    };
    this.input.oninput = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), WAIT_MS);
    };
    this.input.onkeydown = (e) => e.key === "Escape" && this.clear();
    this.more.onclick = () => this.run(this.next ?? undefined);
  }

  clear() {
    clearTimeout(this.timer);
    this.asked++;
    this.input.value = "";
    this.error.textContent = "";
    this.results.replaceChildren();
    this.more.hidden = true;
  }

  private async run(before?: string) {
    const q = this.input.value.trim();
    const ask = ++this.asked;
    this.error.textContent = "";
    if (!q) return this.clear();
    try {
      const page = await client.search({ q, limit: PAGE, before });
      if (ask !== this.asked) return;
      const items = page.results.map((r) => this.item(r));
      if (before) this.results.append(...items);
      else this.results.replaceChildren(...items);
      this.next = page.next;
      this.more.hidden = !page.next;
      if (!before && !items.length) this.error.textContent = `No messages found for “${q}”.`;
    } catch (err) {
      if (ask === this.asked) this.error.textContent = (err as Error).message;
    }
  }

  private item(r: SearchResult): HTMLElement {
    const m = r.message;
    const room = this.host.room(m.room_id);
    const members = room?.members ?? [];
    const author = members.find((u) => u.id === m.user_id)?.login ?? "someone";
    const mentioned = members.filter((u) => m.mentions?.includes(u.id));
    const text = formatText(m.text, { members: mentioned, me: this.host.me(), highlights: r.highlights, links: false });
    const b = h(
      "button",
      { type: "button", class: "search-result", "data-room": String(m.room_id), "data-id": String(m.id) },
      h("span", { class: "result-room" }, room?.title ?? "A room"),
      localTime(m.created_at),
      h("span", { class: "result-author" }, author),
      h("span", { class: "result-text" }, ...text),
    );
    b.onclick = () => this.host.open(r);
    return h("li", {}, b);
  }
}
