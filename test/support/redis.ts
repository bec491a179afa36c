// A private redis-server on its own loopback port, for tests that stop it, restart it or give it a password,
// so the suite's shared Redis is never disturbed.
import type { Subprocess } from "bun";

// A port nothing listens on right now (taken and given back).
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

// Starts redis-server on `port` (nothing saved to disk) and resolves once it accepts connections.
export async function startRedis(port: number, extra: string[] = []): Promise<Subprocess> {
  const proc = Bun.spawn({
    cmd: ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra],
    stdout: "pipe",
    stderr: "ignore",
  });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!/Ready to accept connections/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`redis-server did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return proc;
}
