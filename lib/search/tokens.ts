// Words of a message as the search index sees them, the same on both stores: SQLite's FTS5 tokenizer
// (unicode61, diacritics removed) makes them there; this makes them for PostgreSQL's tsvector and for the
// highlights, so a query finds and marks the same words on either.
const WORD = /[\p{L}\p{N}\p{Co}\p{M}]+/gu;
const MARKS = /\p{M}/gu;
// PostgreSQL refuses lexemes over 2 KiB; a "word" that long is no word anyone searches for.
const MAX_WORD = 200;

// Case and diacritics folded: lower case, then the marks of a canonical decomposition dropped.
export function foldWord(word: string): string {
  return word.toLowerCase().normalize("NFD").replace(MARKS, "").normalize("NFC");
}

export type Token = { word: string; start: number; end: number }; // [start, end) in UTF-16 units of the text

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    const word = foldWord(m[0]);
    if (word.length === 0 || word.length > MAX_WORD) continue;
    out.push({ word, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

// A tsvector literal with positions (1-based, as PostgreSQL counts them): 'word':1,4 'other':2.
export function searchVector(text: string): string {
  const positions = new Map<string, number[]>();
  tokenize(text).forEach(({ word }, i) => {
    const at = Math.min(i + 1, 16383); // PostgreSQL's largest position
    const list = positions.get(word);
    if (list) list.push(at);
    else positions.set(word, [at]);
  });
  return [...positions]
    .map(([word, at]) => `'${word.replaceAll("'", "''").replaceAll("\\", "\\\\")}':${at.join(",")}`)
    .join(" ");
}
