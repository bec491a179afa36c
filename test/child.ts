// echat as a real child process: the CLI from source (`bun main.ts ...`) or a compiled binary.
// Output is collected line by line; waitFor() awaits a line instead of sleeping.
import { expect } from "bun:test";
import { join } from "node:path";
import { call, createRoom, isMessage, register, Socket } from "./helpers.ts";

export const SOURCE = [process.execPath, join(import.meta.dir, "..", "main.ts")];
// Cheap argon2 for children, like TEST_CONFIG for in-process servers.
export const CHEAP = { ECHAT_PASSWORD_MEMORY: "64", ECHAT_PASSWORD_TIME: "1" };

type RunResult = { code: number; stdout: string; stderr: string };

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
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters) w();
    }
  };
  Promise.all([pump(proc.stdout), pump(proc.stderr)]).then(() => {
    ended = true;
    for (const w of waiters) w();
  });

  async function waitFor(match: (line: string) => boolean, timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.find(match);
      if (line !== undefined) return line;
      if (ended) throw new Error(`child ended without the line; output:\n${lines.join("\n")}`);
      if (Date.now() > deadline) throw new Error(`no such line within ${timeoutMs} ms; output:\n${lines.join("\n")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        const w = () => {
          clearTimeout(t);
          waiters.delete(w);
          resolve();
        };
        waiters.add(w);
      });
    }
  }

  const started = await waitFor((l) => l.includes(" listening on "), 60000);
  const url = /listening on (http:\/\/\S+)/.exec(started)![1]!;
  return { url, wsUrl: url.replace(/^http/, "ws"), proc, lines, waitFor };
}

// The black-box smoke test: register, room, a message over WebSocket, history.
export async function smoke(url: string) {
  const wsUrl = url.replace(/^http/, "ws");
  const [alice, bob] = await Promise.all([register(url, "alice"), register(url, "bob")]);
  const room = await createRoom(url, alice!, [bob!]);
  const [a, b] = await Promise.all(
    [alice!, bob!].map((u) => Socket.open(`${wsUrl}/v1/rooms/${room}/chat?session_id=${u.session}`)),
  );
  a!.send({ text: "hello from the binary", client_id: "smoke-1" });
  const ack = await a!.next((f) => f.client_id === "smoke-1");
  const got = await b!.next(isMessage);
  expect(got).toEqual(ack);
  expect(ack).toMatchObject({ text: "hello from the binary", user_id: alice!.id, room_id: room });
  const history = await call(url, "GET", `/v1/rooms/${room}/messages`, { session: bob!.session });
  expect(history.status).toBe(200);
  expect(history.body).toEqual([ack]);
  await Promise.all([a!.close(), b!.close()]);
}
