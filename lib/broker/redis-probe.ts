// Why Redis cannot be used, in words: Bun's client only says "Connection closed" (and with reconnecting on,
// a closed port leaves connect() pending), so one short-lived connection of our own asks AUTH (or PING)
// and reports the refusal, the authentication error or the silence. undefined: Redis answered.
const PROBE_MS = 1000;

export async function probeRedis(url: string): Promise<string | undefined> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "not a redis:// URL";
  }
  const password = decodeURIComponent(u.password);
  const user = decodeURIComponent(u.username);
  const command = password ? ["AUTH", ...(user ? [user] : []), password] : ["PING"];
  const request = `*${command.length}\r\n${command.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
  const { promise, resolve } = Promise.withResolvers<string | undefined>();
  const timer = setTimeout(() => resolve(`no answer within ${PROBE_MS / 1000} s`), PROBE_MS);
  let reply = "";
  const socket = await Bun.connect({
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port: Number(u.port || 6379),
    tls: u.protocol === "rediss:",
    socket: {
      open: (s) => void s.write(request),
      data(_s, chunk) {
        reply += chunk.toString();
        const line = reply.split("\r\n")[0]!;
        if (reply.includes("\r\n")) resolve(refusal(line));
      },
      close: () => resolve(reply ? undefined : "the connection closed without an answer"),
      error: (_s, e) => resolve(e.message),
    },
  }).catch((e: Error) => {
    resolve(`${e.message}${"code" in e ? ` (${e.code})` : ""}`);
    return undefined;
  });
  const result = await promise;
  clearTimeout(timer);
  socket?.end();
  return result;
}

// A Redis without a password accepts a client that sends one anyway (Bun's does not send it): not a failure.
function refusal(line: string): string | undefined {
  if (!line.startsWith("-")) return undefined;
  if (/without any password configured/i.test(line)) return undefined;
  return line.slice(1);
}
