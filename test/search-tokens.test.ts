// lib/search/tokens.ts against SQLite itself: the words FTS5's `unicode61 remove_diacritics 2` (the
// tokenizer of messages_search) makes of a text are the words tokenize() makes, in the same positions,
// so PostgreSQL's tsvector and the highlights agree with SQLite's index. A unit test: no server.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { fts5Expression, parseQuery, tsqueryText } from "../lib/search/query.ts";
import { searchVector, tokenize } from "../lib/search/tokens.ts";
import { allCodePoints, classify, probeAll } from "../scripts/unicode61-table.ts";
import { prng } from "./support/prng.ts";

const db = new Database(":memory:");
db.run("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')");
db.run("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')");
afterAll(() => db.close());

// SQLite's words of each text, in position order ("" for a word folded away).
function sqliteWords(texts: string[]): string[][] {
  db.run("DELETE FROM t");
  const insert = db.prepare("INSERT INTO t (rowid, x) VALUES (?, ?)");
  db.transaction(() => texts.forEach((x, i) => insert.run(i + 1, x)))();
  const out: string[][] = texts.map(() => []);
  for (const r of db
    .query<{ term: string; doc: number; offset: number }, []>("SELECT term, doc, offset FROM v")
    .all()) {
    out[r.doc - 1]![r.offset] = r.term;
  }
  return out;
}
const ourWords = (text: string) => tokenize(text).map((t) => t.word);

const SAMPLES = [
  "Hello, World! It's 2024: e-mail me@example.com",
  "Crème brûlée, naïve façade, Ångström, Łódź, São Paulo, Việt Nam, Đà Nẵng",
  "Ещё раз: йогурт, Йошкар-Ола, ёлка, ЁЖИК, Съешь же ещё этих мягких французских булок",
  "Ελληνικά: άλφα, ΐ, ΰ, Σίσυφος, ΣΊΣΥΦΟΣ",
  "العربية: مَرْحَبًا بِكُمْ ١٢٣",
  "עברית: שָׁלוֹם עוֹלָם",
  "हिन्दी: नमस्ते दुनिया",
  "ภาษาไทย สวัสดีครับ",
  "中文搜索 日本語のテキスト ガギグゲゴ ﾊﾝｶｸ 한국어 검색",
  "Türkçe İstanbul ıIiİ, Deutsch Straße STRASSE ẞ, ﬁnance ﬂow",
  "Fullwidth ＡＢＣ１２３, Roman Ⅻ ⅻ, superscript x² and ½",
  "Armenian Բարեւ, Georgian ქართული, Cherokee ᏣᎳᎩ ꮳꮃꭹ",
  "astral 𐐀𐐨 Deseret, 𝐀𝐁 math bold, emoji 👩‍👩‍👧 🇫🇷 1️⃣ 😀x😀",
  "combining: e\u0301te\u0301, a\u0308, \u0301alone, n\u0303o, x\u0483y, z\u20dd",
  "private use \ue000 and \ue000x\ue001, zero\u200bwidth, soft\u00adhyphen, non\u00a0break",
  "under_score, dotted.name, hash#tag, @mention, ~tilde, back\\slash, quote\"d, it's",
];

describe("tokenize() agrees with FTS5 unicode61 remove_diacritics 2", () => {
  test("on samples of many scripts", () => {
    const theirs = sqliteWords(SAMPLES);
    SAMPLES.forEach((text, i) => expect([text, ourWords(text)]).toEqual([text, theirs[i]!]));
    expect(ourWords("Ещё йогурт")).toEqual(["ещё", "йогурт"]); // SQLite keeps й and ё: no diacritic removal in Cyrillic
  });

  test("on random texts drawn from every plane", () => {
    const rng = prng(16);
    const blocks = [
      [0x20, 0x7f],
      [0xa0, 0x250],
      [0x300, 0x370],
      [0x370, 0x530],
      [0x590, 0x700],
      [0x900, 0xe80],
      [0x1e00, 0x2000],
      [0x2000, 0x2c00],
      [0x3000, 0x3100],
      [0x4e00, 0x4e40],
      [0xac00, 0xac40],
      [0xe000, 0xe010],
      [0xfb00, 0xfffe],
      [0x10000, 0x10500],
      [0x1d400, 0x1d500],
      [0x1f300, 0x1fa00],
      [0x20000, 0x20010],
      [0xe0000, 0xe0080],
    ] as const;
    const texts = Array.from({ length: 3000 }, () => {
      let s = "";
      for (let n = 1 + rng.int(12); n > 0; n--) {
        const [a, b] = rng.pick(blocks);
        s += rng.chance(0.15) ? " " : String.fromCodePoint(a + rng.int(b - a));
      }
      return s;
    });
    const theirs = sqliteWords(texts);
    const differ = texts.filter((text, i) => JSON.stringify(ourWords(text)) !== JSON.stringify(theirs[i]));
    expect(differ).toEqual([]);
  });

  test("on every code point, inside a word and at its start", () => {
    const probes = probeAll(allCodePoints());
    const wrong: string[] = [];
    for (const [c, probe] of probes) {
      const self = String.fromCodePoint(c);
      const middle = ourWords(`a${self}b`);
      const start = ourWords(`${self} b`);
      if (JSON.stringify([middle, start]) !== JSON.stringify([probe.middle, probe.start])) wrong.push(c.toString(16));
      // A folded word is its own fold and one word: query words given back to FTS5 stay as they are.
      const { kind, fold } = classify(c, probe);
      if (kind !== 0 && fold !== "" && JSON.stringify(ourWords(fold)) !== JSON.stringify([fold]))
        wrong.push(`fold ${c}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});

describe("queries and vectors", () => {
  test("hostile queries become plain quoted words FTS5 accepts", () => {
    db.run("DELETE FROM t");
    db.run("INSERT INTO t (rowid, x) VALUES (1, 'near or not and col x')");
    for (const q of [
      "NEAR(a b) OR c",
      "x: col:x",
      "NOT and OR",
      "^start",
      '"unclosed phrase',
      "a\"b'c\\d",
      "x AND yy*",
    ]) {
      const expression = fts5Expression(parseQuery(q));
      expect(() => db.query("SELECT rowid FROM t(?)").all(expression)).not.toThrow();
    }
    expect(fts5Expression(parseQuery('NEAR(a b) OR "c d" pro*'))).toBe(
      '"near" + "a" AND "b" AND "or" AND "c" + "d" AND "pro" *',
    );
  });

  test("a tsquery of lexemes: phrases with <->, prefixes with :*", () => {
    expect(tsqueryText(parseQuery('Привет "hello wor*" it\'s'))).toBe(
      "('привет') & ('hello' <-> 'wor':*) & ('it' <-> 's')",
    );
  });

  test("a tsvector keeps positions across words it leaves out", () => {
    expect(searchVector(`One two, one ${"x".repeat(201)} THREE`)).toBe("'one':1,3 'two':2 'three':5");
    expect(searchVector("it's back\\slash")).toBe("'it':1 's':2 'back':3 'slash':4");
  });
});
