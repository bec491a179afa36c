// @mention completion in the composer: typing @ and the start of a member's login lists the matching
// members; ↑/↓ choose, Enter or Tab (or a click) put "@login " in the text, Escape closes the list.
import type { User } from "../client/index.ts";
import { h } from "./dom.ts";

const SHOWN = 8;
// An @ where the server counts mentions (the start, or after whitespace or "("), up to the caret.
const TYPING_MENTION = /(?:^|[\s(])@([^\s@]*)$/u;
const fold = (s: string) => s.normalize("NFC").toLowerCase();

export class MentionComplete {
  readonly list = h("ul", {
    id: "mention-options",
    class: "mention-options",
    role: "listbox",
    "aria-label": "Members",
  });
  private options: User[] = [];
  private active = 0;
  private at = -1; // where the @ being completed is in the text

  constructor(
    private input: HTMLTextAreaElement,
    private members: () => User[],
  ) {
    this.list.hidden = true;
    for (const [k, v] of Object.entries({ "aria-autocomplete": "list", "aria-controls": "mention-options" }))
      input.setAttribute(k, v);
    input.setAttribute("aria-expanded", "false");
    this.list.onpointerdown = (e) => {
      const li = (e.target as HTMLElement).closest<HTMLElement>("[role=option]");
      if (!li) return;
      e.preventDefault(); // keep the focus in the text
      this.pick(Number(li.dataset.index));
    };
  }

  // After each change of the text or the caret.
  update() {
    const caret = this.input.selectionStart ?? 0;
    const m = TYPING_MENTION.exec(this.input.value.slice(0, caret));
    const prefix = m ? fold(m[1]!) : null;
    this.options =
      prefix === null
        ? []
        : this.members()
            .filter((u) => fold(u.login).startsWith(prefix))
            .slice(0, SHOWN);
    this.at = m ? caret - m[1]!.length - 1 : -1;
    this.active = 0;
    this.render();
  }

  // The list's keys while it is shown: true when the key was its.
  keydown(e: KeyboardEvent): boolean {
    if (this.list.hidden) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const n = this.options.length;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.render();
    } else if (e.key === "Enter" || e.key === "Tab") this.pick(this.active);
    else if (e.key === "Escape") this.close();
    else return false;
    e.preventDefault();
    return true;
  }

  close() {
    this.options = [];
    this.render();
  }

  private pick(i: number) {
    const user = this.options[i];
    if (!user || this.at < 0) return;
    const caret = this.input.selectionStart ?? 0;
    const text = this.input.value;
    const inserted = `@${user.login} `;
    this.input.value = text.slice(0, this.at) + inserted + text.slice(caret);
    const at = this.at + inserted.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.dispatchEvent(new Event("input"));
  }

  private render() {
    this.list.hidden = this.options.length === 0;
    this.input.setAttribute("aria-expanded", String(!this.list.hidden));
    this.list.replaceChildren(
      ...this.options.map((u, i) =>
        h("li", { role: "option", "data-index": String(i), "aria-selected": String(i === this.active) }, `@${u.login}`),
      ),
    );
  }
}
