// `bun run cycles`: fails when the project's modules import each other in a circle. Every edge
// counts: `import type`, re-exports and dynamic `import()` too (a type-only cycle is still two
// modules that cannot be understood apart). Exit 1 and the cycles when there are any.
import { Glob } from "bun";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const SOURCES = [
  "main.ts",
  "server.ts",
  "lib/**/*.ts",
  "client/**/*.ts",
  "web/**/*.ts",
  "test/**/*.ts",
  "bench/**/*.ts",
  "scripts/**/*.ts",
];
// import x from "…", import type {…} from "…", export {…} from "…", import "…", import("…")
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

export async function importGraph(root = ROOT): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const pattern of SOURCES) {
    for await (const file of new Glob(pattern).scan({ cwd: root, onlyFiles: true })) {
      const text = await Bun.file(join(root, file)).text();
      const code = text.replace(/^\s*\/\/.*$/gm, ""); // whole-line comments may quote import lines
      const edges = [...code.matchAll(SPECIFIER)]
        .map((m) => relative(root, resolve(root, dirname(file), m[1]!)))
        .filter((target) => target.endsWith(".ts"));
      graph.set(file, [...new Set(edges)]);
    }
  }
  return graph;
}

// Tarjan's strongly connected components: every component of more than one module (or a module
// importing itself) is a cycle.
export function findCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  function visit(v: string) {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component.sort());
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

if (import.meta.main) {
  const graph = await importGraph();
  const cycles = findCycles(graph);
  if (cycles.length === 0) {
    console.log(`no import cycles among ${graph.size} modules`);
  } else {
    for (const c of cycles) console.error(`import cycle: ${c.join(" <-> ")}`);
    process.exit(1);
  }
}
