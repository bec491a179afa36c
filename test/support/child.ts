// echat as a real child process: the CLI from source (`bun main.ts ...`) or a compiled binary.
// Output is collected line by line; waitFor() awaits a line instead of sleeping.
import { expect } from "bun:test";
import { join } from "node:path";
import { Changes, waitFor } from "./waiting.ts";

export const SOURCE = [process.execPath, join(import.meta.dir, "..", "..", "main.ts")];
// Cheap argon2 for children, like TEST_CONFIG for in-process servers.
export const CHEAP = { ECHAT_PASSWORD_MEMORY: "64", ECHAT_PASSWORD_TIME: "1" };

type RunResult = { code: number; stdout: string; stderr: string };

// A usage error: one line on stderr starting "echat: " and naming each of `says`, nothing on stdout, exit 2.
export function expectUsageError(r: RunResult, ...says: string[]) {
  expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split("\n").length }).toEqual({
    code: 2,
    stdout: "",
    lines: 1,
  });
  expect(r.stderr).toStartWith("echat: ");
  for (const s of says) expect(r.stderr).toContain(s);
}

// Runs one CLI command to completion.
export async function run(
  cmd: string[],
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  const p = Bun.spawn([...cmd, ...args], {
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...CHEAP, ...opts.env },
    cwd: opts.cwd,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

export type Child = {
  url: string;
  wsUrl: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  lines: string[]; // stderr (the log) and stdout, as they come
  waitFor: (match: (line: string) => boolean, timeoutMs?: number) => Promise<string>;
};

// Starts `serve` on a free port and resolves once the start-up line names the URL.
export async function startChild(
  cmd: string[],
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Child> {
  const proc = Bun.spawn([...cmd, "serve", "--port", "0", "--host", "127.0.0.1", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...CHEAP, ...opts.env },
    cwd: opts.cwd,
  });
  const output = collectLines([proc.stdout, proc.stderr]);
  const waitForLine = (match: (line: string) => boolean, timeoutMs = 10000) => {
    const find = () => {
      const line = output.lines.find(match);
      if (line === undefined && output.ended)
        throw new Error(`child ended without the line; output:\n${output.text()}`);
      return line;
    };
    return waitFor(
      find,
      timeoutMs,
      output.changes,
      () => `no such line within ${timeoutMs} ms; output:\n${output.text()}`,
    );
  };
  const started = await waitForLine((l) => l.includes(" listening on "), 60000);
  const url = /listening on (http:\/\/\S+)/.exec(started)![1]!;
  return { url, wsUrl: url.replace(/^http/, "ws"), proc, lines: output.lines, waitFor: waitForLine };
}

// The lines of a child's output streams as they come; changes fires on each chunk and at the end.
function collectLines(streams: ReadableStream<Uint8Array>[]) {
  const output = { lines: [] as string[], ended: false, changes: new Changes(), text: () => output.lines.join("\n") };
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      output.lines.push(...parts);
      output.changes.notify();
    }
  };
  Promise.all(streams.map(pump)).then(() => {
    output.ended = true;
    output.changes.notify();
  });
  return output;
}
