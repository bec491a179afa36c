// Scrapes /metrics and reads the Prometheus text strictly (test/ops.test.ts, test/metrics.test.ts).
import { expect } from "bun:test";
import { call } from "./http.ts";

// A strict reader of the Prometheus text format 0.0.4: every line must be a HELP, a TYPE or a
// sample of the family last typed; returns "name{labels}" -> value.
export type Scrape = Map<string, number>;
const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABELS = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*")*)?\\}`;
const SAMPLE = new RegExp(`^(${NAME})(${LABELS})? ([-+]?(?:\\d+(?:\\.\\d*)?(?:e[-+]?\\d+)?|\\.\\d+|Inf|NaN))$`);
export function parseExposition(text: string): Scrape {
  expect(text.endsWith("\n")).toBe(true);
  const out: Scrape = new Map();
  const typed = new Map<string, string>();
  let family = "";
  for (const line of text.slice(0, -1).split("\n")) {
    const help = new RegExp(`^# HELP (${NAME}) .+$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help) continue;
    if (type) {
      expect(typed.has(type[1]!)).toBe(false); // one TYPE per family
      typed.set(type[1]!, type[2]!);
      family = type[1]!;
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const [, name, labels = "", value] = m;
    const suffixes = typed.get(family) === "histogram" ? ["_bucket", "_sum", "_count"] : [""];
    expect(suffixes.map((s) => family + s)).toContain(name!);
    if (typed.get(family) === "counter") expect(family).toEndWith("_total");
    const key = name + labels;
    expect(out.has(key)).toBe(false);
    out.set(key, Number(value!.replace("Inf", "Infinity")));
  }
  return out;
}

export async function scrape(url: string): Promise<Scrape> {
  const r = await call<string>(url, "GET", "/metrics");
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parseExposition(r.body);
}
