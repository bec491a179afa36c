// A message's text as DOM nodes, from markup.ts's spans: text nodes and a fixed set of elements (strong, em,
// code, pre, a, span.mention, mark), never an HTML string. Links open in a new tab without handing it
// this page (rel="noopener noreferrer"); search highlights ([start, end) in UTF-16 units) become <mark>.
import { h } from "./dom.ts";
import { type Inline, type Mentionable, parse, type Span } from "./markup.ts";

export type FormatOptions = {
  members?: Mentionable[]; // who @login may name
  me?: number; // mentions of this user stand out
  highlights?: [number, number][];
  links?: false; // links as plain text (inside something clickable already)
};

export function formatText(text: string, options: FormatOptions = {}): Node[] {
  const marks = [...(options.highlights ?? [])].sort((a, b) => a[0] - b[0]);
  const leaf = (start: number, end: number) => highlighted(text, start, end, marks);
  const build = (span: Span): Node => {
    switch (span.kind) {
      case "text":
        return fragment(leaf(span.start, span.end));
      case "code":
        return h("code", {}, ...leaf(span.start, span.end));
      case "codeblock":
        return h("pre", {}, h("code", {}, ...leaf(span.start, span.end)));
      case "mention": {
        const cls = span.userId === options.me ? "mention me" : "mention";
        return h("span", { class: cls, "data-user": String(span.userId) }, ...leaf(span.start, span.end));
      }
      case "bold":
        return h("strong", {}, ...span.children.map(build));
      case "italic":
        return h("em", {}, ...span.children.map(build));
      case "link":
        return options.links === false ? h("span", { class: "link" }, ...span.children.map(build)) : link(span, build);
    }
  };
  return parse(text, options.members).map(build);
}

function link(span: Extract<Inline, { kind: "link" }>, build: (s: Span) => Node): HTMLAnchorElement {
  const a = h("a", { target: "_blank", rel: "noopener noreferrer" }, ...span.children.map(build));
  a.href = span.href; // http or https only (markup.ts safeHref)
  return a;
}

function fragment(nodes: Node[]): DocumentFragment {
  const f = document.createDocumentFragment();
  f.append(...nodes);
  return f;
}

// The text of [start, end) as text nodes, with the parts inside a highlight in <mark>.
function highlighted(text: string, start: number, end: number, marks: [number, number][]): Node[] {
  const out: Node[] = [];
  let at = start;
  for (const [s, e] of marks) {
    if (e <= at || s >= end) continue;
    const from = Math.max(s, at);
    const to = Math.min(e, end);
    if (from > at) out.push(document.createTextNode(text.slice(at, from)));
    out.push(h("mark", {}, text.slice(from, to)));
    at = to;
  }
  if (at < end) out.push(document.createTextNode(text.slice(at, end)));
  return out;
}
