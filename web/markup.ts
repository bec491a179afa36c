// A message's text as a tree of spans over the text itself: **bold**, _italic_, `code`, fenced ``` blocks,
// http(s) links ([label](url) and bare URLs) and @mentions of room members. Every leaf is a range
// [start, end) of the text (nothing is unescaped or rewritten), so search highlights given in UTF-16 offsets
// land on the leaves, and format.ts builds the DOM from text nodes only. Pure: no DOM here.
export type Range = { start: number; end: number };
export type Inline =
  | ({ kind: "text" } & Range)
  | ({ kind: "code" } & Range)
  | ({ kind: "mention"; userId: number } & Range)
  | { kind: "bold" | "italic"; children: Inline[] }
  | { kind: "link"; href: string; children: Inline[] };
export type Span = Inline | ({ kind: "codeblock" } & Range);

// Who @login may name: the room's members (the server's mentions rule: case-insensitive, longest wins).
export type Mentionable = { id: number; login: string };

const FENCE_OPEN = /^```[^\n`]*\n/gm;
const FENCE_CLOSE = /```[ \t]*(?:\n|$)/g;
const URL_AT = /https?:\/\/[^\s<>"]+/iy;
const MENTION_END = /[\s,.;:!?)]/;
const WORD = /[\p{L}\p{N}_]/u;

export function parse(text: string, members: Mentionable[] = []): Span[] {
  const ctx = new Scanner(text, sortedLogins(members));
  const out: Span[] = [];
  let from = 0;
  for (FENCE_OPEN.lastIndex = 0; ; ) {
    const open = FENCE_OPEN.exec(text);
    if (!open) break;
    const start = open.index + open[0].length;
    FENCE_CLOSE.lastIndex = start;
    const close = FENCE_CLOSE.exec(text);
    const end = close ? close.index : text.length;
    out.push(...ctx.inline(from, open.index > 0 && text[open.index - 1] === "\n" ? open.index - 1 : open.index));
    out.push({ kind: "codeblock", start, end: end > start && text[end - 1] === "\n" ? end - 1 : end });
    from = close ? close.index + close[0].length : text.length;
    FENCE_OPEN.lastIndex = from;
  }
  out.push(...ctx.inline(from, text.length));
  return out;
}

// An http or https URL as an href (normalized by the URL parser), or null: javascript:, data: and the rest
// are never links.
export function safeHref(raw: string): string | null {
  if (!/^https?:\/\//i.test(raw)) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// The member that @ at position at names: the server's rule (lib/mentions.ts), longest login first.
// limit: where the span being read ends (a bold run's closing mark, say): the login may not cross it.
export function mentionAt(text: string, at: number, members: Mentionable[], limit = text.length): Mentionable | null {
  if (text[at] !== "@" || (at > 0 && !/[\s(]/.test(text[at - 1]!))) return null;
  for (const m of members) {
    const lower = m.login.toLowerCase();
    const end = at + 1 + lower.length;
    if (end > limit || text.slice(at + 1, end).toLowerCase() !== lower) continue;
    if (end === text.length || MENTION_END.test(text[end]!)) return m; // as the server: the text's end
  }
  return null;
}

const sortedLogins = (members: Mentionable[]) =>
  [...members].sort((a, b) => b.login.toLowerCase().length - a.login.toLowerCase().length);

class Scanner {
  constructor(
    private text: string,
    private members: Mentionable[],
  ) {}

  // The inline spans of [start, end): text runs between the constructs found, in order.
  inline(start: number, end: number): Inline[] {
    const out: Inline[] = [];
    let plain = start;
    for (let i = start; i < end; ) {
      const found = this.construct(i, start, end);
      if (!found) {
        i++;
        continue;
      }
      if (plain < i) out.push({ kind: "text", start: plain, end: i });
      out.push(found.span);
      i = plain = found.next;
    }
    if (plain < end) out.push({ kind: "text", start: plain, end });
    return out;
  }

  private construct(i: number, start: number, end: number): { span: Inline; next: number } | null {
    const c = this.text[i];
    if (c === "`") return this.code(i, end);
    if (c === "[") return this.labelled(i, end);
    if ((c === "h" || c === "H") && (i === start || !WORD.test(this.text[i - 1]!))) return this.bare(i, end);
    if (c === "*" && this.text[i + 1] === "*") return this.emphasis(i, end, "**", "bold");
    if (c === "_" && (i === start || !WORD.test(this.text[i - 1]!))) return this.emphasis(i, end, "_", "italic");
    if (c === "@") {
      const m = mentionAt(this.text, i, this.members, end);
      if (!m) return null;
      const next = i + 1 + m.login.toLowerCase().length;
      return { span: { kind: "mention", userId: m.id, start: i, end: next }, next };
    }
    return null;
  }

  // A run of n backticks up to the next run of exactly n.
  private code(i: number, end: number) {
    const close = this.codeEnd(i, end);
    if (close === null) return null;
    const n = this.run(i, "`");
    return { span: { kind: "code" as const, start: i + n, end: close }, next: close + n };
  }

  // Where the code span opening at i closes, or null.
  private codeEnd(i: number, end: number): number | null {
    const n = this.run(i, "`");
    for (let j = i + n; j < end; ) {
      if (this.text[j] !== "`") {
        j++;
        continue;
      }
      const m = this.run(j, "`");
      if (m === n && j > i + n && j + m <= end) return j;
      j += m;
    }
    return null;
  }

  private run(i: number, ch: string) {
    let j = i;
    while (this.text[j] === ch) j++;
    return j - i;
  }

  // [label](url): a link when url is http(s), else left as text.
  private labelled(i: number, end: number) {
    const close = this.text.indexOf("]", i + 1);
    if (close < 0 || close >= end || close === i + 1 || this.text[close + 1] !== "(") return null;
    if (this.text.slice(i + 1, close).includes("\n")) return null;
    let depth = 0;
    let j = close + 2;
    for (; j < end; j++) {
      const ch = this.text[j]!;
      if (/\s/.test(ch)) return null;
      if (ch === "(") depth++;
      else if (ch === ")" && depth-- === 0) break;
    }
    if (j >= end) return null;
    const href = safeHref(this.text.slice(close + 2, j));
    if (!href) return null;
    return {
      span: { kind: "link" as const, href, children: [{ kind: "text" as const, start: i + 1, end: close }] },
      next: j + 1,
    };
  }

  // A bare http(s) URL, without the punctuation that usually ends a sentence after it.
  private bare(i: number, end: number) {
    if (!/^https?:\/\//i.test(this.text.slice(i, i + 8))) return null;
    URL_AT.lastIndex = i;
    const m = URL_AT.exec(this.text);
    if (!m) return null;
    let url = m[0].slice(0, end - i);
    for (;;) {
      const last = url.at(-1)!;
      const unbalanced = last === ")" && url.split("(").length < url.split(")").length;
      if (!/[.,;:!?'*_]/.test(last) && !unbalanced) break;
      url = url.slice(0, -1);
    }
    const href = safeHref(url);
    if (!href) return null;
    return {
      span: { kind: "link" as const, href, children: [{ kind: "text" as const, start: i, end: i + url.length }] },
      next: i + url.length,
    };
  }

  // **bold** or _italic_: the closing mark follows a non-space and no code span hides it; italic's closing
  // _ ends a word (snake_case stays as it is).
  private emphasis(i: number, end: number, mark: string, kind: "bold" | "italic") {
    const from = i + mark.length;
    if (from >= end || /\s/.test(this.text[from]!)) return null;
    for (let j = from + 1; j < end; j++) {
      if (this.text[j] === "`") {
        const close = this.codeEnd(j, end);
        if (close !== null) j = close + this.run(close, "`") - 1;
        continue;
      }
      if (!this.text.startsWith(mark, j) || j + mark.length > end || /\s/.test(this.text[j - 1]!)) continue;
      if (kind === "italic" && j + 1 < end && WORD.test(this.text[j + 1]!)) continue;
      if (kind === "bold" && this.text[j + 2] === "*") continue; // ***: the run's end closes
      return { span: { kind, children: this.inline(from, j) }, next: j + mark.length };
    }
    return null;
  }
}
