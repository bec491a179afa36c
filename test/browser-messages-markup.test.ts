// The web client's message markup (web/markup.ts), a pure function: the spans it finds in a text, each leaf a
// range of the text itself. The DOM built from them is tested in Chromium (browser-messages.test.ts).
import { describe, expect, test } from "bun:test";
import { mentionAt, parse, type Span, safeHref } from "../web/markup.ts";

const members = [
  { id: 1, login: "alice" },
  { id: 2, login: "bob" },
  { id: 3, login: "bobby" },
  { id: 4, login: "Ёжик" },
];

// The spans as compact strings: kind(text) with the leaves' text, to compare at a glance.
function show(text: string, spans: Span[] = parse(text, members)): string[] {
  return spans.map((s) => {
    switch (s.kind) {
      case "text":
        return text.slice(s.start, s.end);
      case "code":
      case "codeblock":
        return `${s.kind}(${text.slice(s.start, s.end)})`;
      case "mention":
        return `@${s.userId}(${text.slice(s.start, s.end)})`;
      case "link":
        return `link(${show(text, s.children).join("")} -> ${s.href})`;
      default:
        return `${s.kind}(${show(text, s.children).join("|")})`;
    }
  });
}

describe("markup", () => {
  test.each([
    ["plain text", "hello there", ["hello there"]],
    ["bold, italic and code", "a **b** _c_ `d`", ["a ", "bold(b)", " ", "italic(c)", " ", "code(d)"]],
    ["bold holding italic and code", "**x _y_ `z`**", ["bold(x |italic(y)| |code(z))"]],
    ["snake_case is not italic", "call my_var_name now", ["call my_var_name now"]],
    ["an unclosed mark stays text", "**open and _half", ["**open and _half"]],
    ["a mark before a space does not open", "2 ** 3 and _ x_", ["2 ** 3 and _ x_"]],
    ["a code span hides a closing mark", "**a `b**` c**", ["bold(a |code(b**)| c)"]],
    ["double backticks hold a backtick", "``a ` b``", ["code(a ` b)"]],
    ["markup inside code is text", "`**not bold** <b>`", ["code(**not bold** <b>)"]],
  ])("%s", (_, text, expected) => {
    expect(show(text)).toEqual(expected);
  });

  test.each([
    ["a fenced block", "before\n```\n<b>x</b>\n**y**\n```\nafter", ["before", "codeblock(<b>x</b>\n**y**)", "after"]],
    ["a fence with a language", "```ts\nlet a = 1;\n```", ["codeblock(let a = 1;)"]],
    ["a fence closed at the end of a line", "```\ncode```", ["codeblock(code)"]],
    ["an unclosed fence runs to the end", "x\n```\nrest\nof it", ["x", "codeblock(rest\nof it)"]],
    ["two blocks", "```\na\n```\nmid\n```\nb\n```", ["codeblock(a)", "mid", "codeblock(b)"]],
  ])("%s", (_, text, expected) => {
    expect(show(text)).toEqual(expected);
  });

  test.each([
    [
      "a bare URL",
      "see https://example.com/a?b=1.",
      ["see ", "link(https://example.com/a?b=1 -> https://example.com/a?b=1)", "."],
    ],
    [
      "a URL in parentheses",
      "(http://x.org/wiki/A_(b))",
      ["(", "link(http://x.org/wiki/A_(b) -> http://x.org/wiki/A_(b))", ")"],
    ],
    ["a labelled link", "[the docs](https://e.com/d) here", ["link(the docs -> https://e.com/d)", " here"]],
    [
      "a label with HTML stays text",
      "[<img src=x onerror=alert(1)>](https://e.com)",
      ["link(<img src=x onerror=alert(1)> -> https://e.com/)"],
    ],
    ["javascript: is never a link", "[click](javascript:alert(1))", ["[click](javascript:alert(1))"]],
    [
      "data: is never a link",
      "[x](data:text/html,<script>alert(1)</script>)",
      ["[x](data:text/html,<script>alert(1)</script>)"],
    ],
    ["nor a bare javascript:", "javascript:alert(1)", ["javascript:alert(1)"]],
    ["a URL glued to a word is not one", "xhttps://e.com", ["xhttps://e.com"]],
    ["a bold link", "**https://e.com**", ["bold(link(https://e.com -> https://e.com/))"]],
    ["ftp stays text", "ftp://e.com", ["ftp://e.com"]],
  ])("%s", (_, text, expected) => {
    expect(show(text)).toEqual(expected);
  });

  test.each([
    ["a member", "hi @alice!", ["hi ", "@1(@alice)", "!"]],
    ["case-insensitive", "@ALICE: look", ["@1(@ALICE)", ": look"]],
    ["the longest login wins", "@bobby and @bob", ["@3(@bobby)", " and ", "@2(@bob)"]],
    ["after a parenthesis", "(@bob)", ["(", "@2(@bob)", ")"]],
    ["not inside a word", "mail@bob", ["mail@bob"]],
    ["not followed by more of a word", "@bobbyx", ["@bobbyx"]],
    ["Cyrillic", "привет @ёжик.", ["привет ", "@4(@ёжик)", "."]],
    ["not a member", "@carol", ["@carol"]],
    ["as the server, not before a closing mark", "**hi @bob**", ["bold(hi @bob)"]],
    ["inside bold, before a space", "**hi @bob now**", ["bold(hi |@2(@bob)| now)"]],
  ])("mentions: %s", (_, text, expected) => {
    expect(show(text)).toEqual(expected);
  });

  test("every leaf is a range of the text, in order and without overlap", () => {
    const text = "a **b _c_** `d` [e](https://f.g) h https://i.j @bob\n```\nk\n```\nl";
    const leaves: [number, number][] = [];
    const walk = (spans: Span[]) => {
      for (const s of spans) "children" in s ? walk(s.children) : leaves.push([s.start, s.end]);
    };
    walk(parse(text, members));
    for (let i = 1; i < leaves.length; i++) expect(leaves[i]![0]).toBeGreaterThanOrEqual(leaves[i - 1]![1]);
    expect(leaves.at(-1)![1]).toBeLessThanOrEqual(text.length);
  });

  test("safeHref takes http and https only", () => {
    expect(safeHref("https://e.com/x")).toBe("https://e.com/x");
    expect(safeHref("HTTP://E.COM")).toBe("http://e.com/");
    for (const bad of ["javascript:alert(1)", "JaVaScRiPt:x", " https://e.com", "data:,x", "//e.com", "https://"])
      expect(safeHref(bad)).toBeNull();
  });

  test("mentionAt follows the server's rule for the start", () => {
    expect(mentionAt("@bob", 0, members)?.id).toBe(2);
    expect(mentionAt("x\n@bob", 2, members)?.id).toBe(2);
    expect(mentionAt("x@bob", 1, members)).toBeNull();
  });
});
