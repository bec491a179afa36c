import type { Server } from "bun";

// The client's address: the socket's peer, or with --trust-proxy the last X-Forwarded-For entry
// (the one our own proxy appended; entries to its left are whatever the client claimed).
export function clientAddress(req: Request, server: Server<any>, trustProxy: boolean): string {
  return addressKey(clientIp(req, server, trustProxy));
}

// The address itself (at most 64 characters), as sessions record it.
export function clientIp(req: Request, server: Server<any>, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return server.requestIP(req)?.address ?? "unknown";
}

// One key per IPv4 address, and per IPv6 /64: a single host is routinely handed a whole /64, so
// keying by full IPv6 address would give it 2^64 buckets.
export function addressKey(address: string): string {
  const a = address.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const [head = "", tail] = a.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return (
    groups
      .slice(0, 4)
      .map((g) => (parseInt(g, 16) || 0).toString(16))
      .join(":") + "::/64"
  );
}
