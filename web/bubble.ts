// One message on screen: its author, the message it replies to (quoted; a click jumps there), its formatted
// text, its files (previews and chips), reactions, an edited marker, its time and the button of its menu. Parts
// change in place (edits, reactions), so what else hangs on the element (read tracking, "Seen by") stays.
import type { Message, Reaction, User } from "../client/index.ts";
import { attachments } from "./attachment.ts";
import { h, localTime } from "./dom.ts";
import { formatText } from "./format.ts";
import type { Mentionable } from "./markup.ts";

export type BubbleContext = {
  me: User;
  name(userId: number): string;
  members(): Mentionable[]; // the room's members: @login of one of them is a mention
  quoted(id: number): Message | undefined; // a message on screen
};

const QUOTE_CHARS = 120;

export function bubble(m: Message, ctx: BubbleContext): HTMLElement {
  const mine = m.user_id === ctx.me.id;
  const el = h(
    "li",
    {
      class: mine ? "msg mine" : "msg",
      "data-id": String(m.id),
      "data-user": String(m.user_id),
      title: new Date(m.created_at).toLocaleString(),
    },
    h("span", { class: "author" }, mine ? ctx.me.login : ctx.name(m.user_id)),
    m.reply_to ? h("button", { type: "button", class: "reply-quote", "data-reply-to": String(m.reply_to) }) : null,
    h("div", { class: "text" }),
    attachments(m.files ?? []), // files never change: made once, so an edit's fresh URLs reload nothing
    h("div", { class: "reactions" }),
    h(
      "div",
      { class: "meta" },
      h("span", { class: "edited" }),
      localTime(m.created_at),
      m.id
        ? h("button", { type: "button", class: "msg-menu", "aria-haspopup": "menu", "aria-label": "Message menu" }, "⋯")
        : null,
    ),
  );
  fill(el, m, ctx);
  return el;
}

// The parts that follow the message as it changes: text, edited marker, reactions, the quote.
export function fill(el: HTMLElement, m: Message, ctx: BubbleContext, highlights?: [number, number][]) {
  const members = m.id === 0 ? ctx.members() : ctx.members().filter((u) => m.mentions?.includes(u.id));
  el.querySelector(".text")!.replaceChildren(...formatText(m.text, { members, me: ctx.me.id, highlights }));
  el.classList.toggle("mentions-me", m.user_id !== ctx.me.id && !!m.mentions?.includes(ctx.me.id));
  const edited = el.querySelector<HTMLElement>(".edited")!;
  edited.textContent = m.edited_at ? "edited" : "";
  edited.title = m.edited_at ? `Edited ${new Date(m.edited_at).toLocaleString()}` : "";
  reactions(el, m.reactions ?? [], ctx);
  const quote = el.querySelector<HTMLElement>(".reply-quote");
  if (quote) showQuote(quote, ctx.quoted(m.reply_to!), ctx);
}

// The quote of the replied message: its author and the start of its text, or a placeholder until it is known.
export function showQuote(quote: HTMLElement, original: Message | undefined | null, ctx: BubbleContext) {
  if (original === null) return quote.replaceChildren(h("span", { class: "quote-text" }, "Deleted message"));
  if (!original) return quote.replaceChildren(h("span", { class: "quote-text" }, "A message"));
  const author = original.user_id === ctx.me.id ? ctx.me.login : ctx.name(original.user_id);
  quote.replaceChildren(
    h("span", { class: "quote-author" }, author),
    h("span", { class: "quote-text" }, gist(original)),
  );
}

// A message in a line (quotes, the room list): the start of its text, or its files when it has no text.
export function gist(m: Pick<Message, "text" | "files">): string {
  const text = snippet(m.text);
  if (text || !m.files?.length) return text;
  return m.files.length === 1 ? `File: ${m.files[0]!.name}` : `${m.files.length} files`;
}

export function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS - 1)}…` : flat;
}

// One chip per emoji with its count; mine pressed; who reacted in the title (hover) and, on a long press,
// under the chips.
function reactions(el: HTMLElement, list: Reaction[], ctx: BubbleContext) {
  const row = el.querySelector<HTMLElement>(".reactions")!;
  row.hidden = list.length === 0;
  row.replaceChildren(
    ...list.map((r) => {
      const who = r.user_ids.map((id) => (id === ctx.me.id ? "you" : ctx.name(id))).join(", ");
      const pressed = r.user_ids.includes(ctx.me.id);
      return h(
        "button",
        { type: "button", class: "reaction", "data-emoji": r.emoji, "aria-pressed": String(pressed), title: who },
        h("span", { class: "emoji" }, r.emoji),
        h("span", { class: "count" }, String(r.user_ids.length)),
      );
    }),
  );
}
