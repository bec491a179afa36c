// A synthetic chat history for the message-search bench (S2): a vocabulary of made-up words, a tenth of
// them Cyrillic, drawn with Zipf-like frequencies (the k-th most common word about 1/k as often as the
// first), so a few words are in most messages and most words in a few. Seeded: every run is the same.
export function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const LATIN = "ka ri to mi sa lo ne vu an el or is ber gar tin son lee mar dan ova jo hu pe qi xe zo fa".split(" ");
const CYRILLIC = "ва ся ми ша ко ля да ро ни ка пре до ра ст ол жи".split(" ");

export type Corpus = { words: string[]; draw: () => string; message: () => string };

// size: distinct words; exponent: Zipf's s.
export function corpus(size: number, random: () => number, exponent = 1): Corpus {
  const seen = new Set<string>();
  const words: string[] = [];
  while (words.length < size) {
    const set = random() < 0.1 ? CYRILLIC : LATIN;
    const n = 1 + Math.floor(random() * 4);
    const w = Array.from({ length: n }, () => set[Math.floor(random() * set.length)]).join("");
    if (w.length > 1 && !seen.has(w)) seen.add(w), words.push(w);
  }
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let k = 0; k < size; k++) cumulative[k] = total += 1 / (k + 1) ** exponent;
  const draw = () => {
    const x = random() * total;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
  // 3 to 15 words, sometimes capitalized or followed by punctuation.
  const message = () => {
    const n = 3 + Math.floor(random() * 13);
    let text = "";
    for (let i = 0; i < n; i++) {
      let w = draw();
      if (i === 0 && random() < 0.5) w = w[0]!.toUpperCase() + w.slice(1);
      text += (i ? " " : "") + w + (random() < 0.1 ? "," : "");
    }
    return random() < 0.3 ? `${text}?` : text;
  };
  return { words, draw, message };
}
