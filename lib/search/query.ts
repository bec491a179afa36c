// A search query (GET /v1/search ?q=) parsed here, never handed raw to FTS5 MATCH or to_tsquery: words
// (all must match), prefixes `prog*`, phrases in double quotes. Each part becomes a Term: consecutive
// words, the last one possibly a prefix; the stores get expressions built from folded words only.
import { ApiError } from "../errors.ts";
import { lexeme, MAX_WORD, type Token, tokenize } from "./tokens.ts";

export type Term = { words: string[]; prefix: boolean };
export type SearchQuery = Term[];

export const MAX_QUERY = 500; // characters of q
export const MAX_TERMS = 10;
export const MAX_WORDS = 20; // words in all terms together
export const MIN_PREFIX = 2; // characters before `*`: a one-letter prefix would read much of the index

const invalid = (why: string) => new ApiError("invalid_query", `q ${why}`);

export function parseQuery(q: string): SearchQuery {
  if (q.length > MAX_QUERY) throw invalid(`must be at most ${MAX_QUERY} characters`);
  const terms: Term[] = [];
  const seen = new Set<string>();
  // Outside quotes a term is a run of non-space characters ("e-mail" is the phrase e mail); inside
  // them, everything up to the closing quote (or the end).
  for (const m of q.matchAll(/"([^"]*)"?|[^\s"]+/g)) {
    const term = toTerm(m[1] ?? m[0]);
    const key = JSON.stringify(term);
    if (term && !seen.has(key)) seen.add(key), terms.push(term);
  }
  if (terms.length === 0) throw invalid("needs a word (letters or digits)");
  if (terms.length > MAX_TERMS) throw invalid(`may have at most ${MAX_TERMS} words, prefixes and phrases`);
  if (terms.reduce((n, t) => n + t.words.length, 0) > MAX_WORDS) throw invalid(`may have at most ${MAX_WORDS} words`);
  return terms;
}

function toTerm(part: string): Term | null {
  const tokens = tokenize(part);
  if (tokens.length === 0) return null;
  const last = tokens.at(-1)!;
  const prefix = part[last.end] === "*";
  if (tokens.some((t) => t.word.length > MAX_WORD)) throw invalid(`words must be at most ${MAX_WORD} characters`);
  if (prefix && [...last.word].length < MIN_PREFIX) {
    throw invalid(`prefixes need at least ${MIN_PREFIX} characters before *`);
  }
  return { words: tokens.map((t) => t.word), prefix };
}

// FTS5: each term a phrase of quoted strings ("a" + "b" *), all of them required.
export function fts5Expression(query: SearchQuery): string {
  return query
    .map((t) => t.words.map((w) => `"${w.replaceAll('"', '""')}"`).join(" + ") + (t.prefix ? " *" : ""))
    .join(" AND ");
}

// PostgreSQL: a tsquery literal ('a' <-> 'b':*) & 'c', cast with ::tsquery (no parser, no stemming).
export function tsqueryText(query: SearchQuery): string {
  return query
    .map(
      (t) => `(${t.words.map((w, i) => lexeme(w) + (t.prefix && i === t.words.length - 1 ? ":*" : "")).join(" <-> ")})`,
    )
    .join(" & ");
}

// [start, end) of each word of the text that matches a word or prefix term, or belongs to an occurrence
// of a phrase, in text order. Computed from the same words the stores index.
export function highlights(text: string, query: SearchQuery): [number, number][] {
  const tokens = tokenize(text);
  const marked = new Set<number>();
  for (const term of query) {
    for (let i = 0; i + term.words.length <= tokens.length; i++) {
      if (term.words.every((w, k) => matches(tokens[i + k]!, w, term.prefix && k === term.words.length - 1))) {
        for (let k = 0; k < term.words.length; k++) marked.add(i + k);
      }
    }
  }
  return [...marked].sort((a, b) => a - b).map((i) => [tokens[i]!.start, tokens[i]!.end]);
}

function matches(token: Token, word: string, prefix: boolean): boolean {
  return prefix ? token.word.startsWith(word) : token.word === word;
}
