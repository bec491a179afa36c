// Words of a message as the search index sees them, the same on both stores: SQLite's FTS5 tokenizer
// (unicode61, diacritics removed) makes them there; this makes them for PostgreSQL's tsvector, for the
// query and for the highlights, with SQLite's own table of code points (unicode61.ts, read from SQLite
// by scripts/unicode61-table.ts), so a query finds and marks the same words on either.
import { FOLDS, INNER, SEPARATORS } from "./unicode61.ts";

// PostgreSQL refuses lexemes over 2 KiB; a "word" that long is no word anyone searches for.
export const MAX_WORD = 200;
const MAX_POSITIONS = 256; // per lexeme in a tsvector

const SEPARATOR = 0;
const WORD = 1;
const INSIDE = 2; // a diacritic: part of a word only after a word character

type Table = { kinds: Uint8Array; astral: [number, number, number][]; folds: Map<number, string> };
let table: Table | undefined;

function ranges(list: string): [number, number][] {
  return list.split(" ").map((r) => {
    const [a, b] = r.split("-");
    return [parseInt(a!, 36), parseInt(b ?? a!, 36)];
  });
}

// Built on first use: a kind per BMP code point, ranges above it, and the folds.
function load(): Table {
  const kinds = new Uint8Array(0x10000).fill(WORD);
  const astral: [number, number, number][] = [];
  for (const [list, kind] of [
    [SEPARATORS, SEPARATOR],
    [INNER, INSIDE],
  ] as const) {
    for (const [a, b] of ranges(list)) {
      if (a < 0x10000) kinds.fill(kind, a, Math.min(b, 0xffff) + 1);
      if (b >= 0x10000) astral.push([Math.max(a, 0x10000), b, kind]);
    }
  }
  kinds.fill(SEPARATOR, 0xd800, 0xe000); // a lone surrogate is U+FFFD in SQLite's UTF-8, a separator
  const folds = new Map<number, string>();
  for (const pair of FOLDS.split(" ")) {
    const [c, to] = pair.split(":");
    folds.set(parseInt(c!, 36), to === "" ? "" : String.fromCodePoint(parseInt(to!, 36)));
  }
  return { kinds, astral, folds };
}

function kindOf(t: Table, c: number): number {
  if (c < 0x10000) return t.kinds[c]!;
  for (const [a, b, kind] of t.astral) if (c >= a && c <= b) return kind;
  return WORD;
}

// A word folded as unicode61 folds it: lower case, diacritics removed, code point by code point.
export function foldWord(word: string): string {
  return tokenize(word)
    .map((t) => t.word)
    .join("");
}

// [start, end) in UTF-16 units of the text; a word's index in the list is its position (FTS5's offset).
export type Token = { word: string; start: number; end: number };

export function tokenize(text: string): Token[] {
  const t = (table ??= load());
  const out: Token[] = [];
  let word: string | null = null;
  let start = 0;
  let end = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.codePointAt(i)!;
    const size = c > 0xffff ? 2 : 1;
    const kind = kindOf(t, c);
    if (kind === WORD || (kind === INSIDE && word !== null)) {
      if (word === null) [word, start] = ["", i];
      word += t.folds.get(c) ?? String.fromCodePoint(c);
      end = i + size;
    } else if (word !== null) {
      out.push({ word, start, end });
      word = null;
    }
    i += size;
  }
  if (word !== null) out.push({ word, start, end });
  return out;
}

// A tsvector literal with positions (1-based, as PostgreSQL counts them): 'word':1,4 'other':2.
// Overlong words are left out but keep their positions, so phrases around them match as in FTS5.
export function searchVector(text: string): string {
  const positions = new Map<string, number[]>();
  tokenize(text).forEach(({ word }, i) => {
    if (word === "" || word.length > MAX_WORD) return;
    const at = Math.min(i + 1, 16383); // PostgreSQL's largest position
    const list = positions.get(word);
    if (!list) positions.set(word, [at]);
    else if (list.length < MAX_POSITIONS) list.push(at);
  });
  return [...positions].map(([word, at]) => `${lexeme(word)}:${at.join(",")}`).join(" ");
}

// A quoted lexeme for a tsvector or tsquery literal.
export function lexeme(word: string): string {
  return `'${word.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}
