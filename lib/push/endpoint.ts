// Which push endpoints the server may POST to. A subscription's endpoint is chosen by a client, so without this
// the server could be made to reach its own internal hosts (SSRF): only https: URLs whose host is public, checked
// when a subscription is registered (checkEndpoint) and again before every send (checkEndpointAtSend), since a
// name may resolve elsewhere later. `allowLoopback` (--push-allow-loopback) admits 127.0.0.0/8, and http: on an
// IPv4 literal there, for tests' in-process push services.

export type EndpointOptions = { allowLoopback: boolean };
export type Refusal = "invalid_url" | "not_https" | "credentials" | "not_public" | "unresolved";
// `addresses`: the host's addresses when known (an address literal, or the name's resolution at send time);
// empty for a name checkEndpoint did not resolve.
export type EndpointCheck =
  | { ok: true; url: URL; addresses: string[] }
  | { ok: false; reason: Refusal; detail: string };
export type Lookup = (hostname: string) => Promise<string[]>;

export const MAX_ENDPOINT_LENGTH = 2048;

// Ranges that are not public, by name. IPv4 per RFC 6890's special-purpose registry (the broadcast address is
// in 240/4); IPv6 ranges whose last 32 bits, or 6to4's bits 16-48, are an IPv4 address are checked as that.
const IPV4_RANGES: [string, string][] = [
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "shared (CGNAT)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
];
const IPV6_RANGES: [string, string][] = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::ffff:0:0/96", "IPv4-mapped"],
  ["64:ff9b::/96", "NAT64"],
  ["2002::/16", "6to4"],
  ["::/96", "IPv4-compatible (deprecated)"],
  ["64:ff9b:1::/48", "local NAT64"],
  ["100::/64", "discard"],
  ["2001::/32", "Teredo"],
  ["2001:db8::/32", "documentation"],
  ["fc00::/7", "unique local (private)"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local (deprecated)"],
  ["ff00::/8", "multicast"],
];
// Where an embedded IPv4 address sits, for the ranges that carry one.
const EMBEDDED_IPV4: Record<string, number> = { "IPv4-mapped": 12, NAT64: 12, "6to4": 2 };

export function parseIPv4(s: string): Uint8Array | null {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)?.slice(1).map(Number);
  return parts?.every((n) => n <= 255) ? Uint8Array.from(parts) : null;
}

// An IPv6 address (brackets and a zone allowed, a dotted IPv4 tail too) as 16 bytes, or null.
export function parseIPv6(s: string): Uint8Array | null {
  let text = s.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = parseIPv4(tail[2] ?? "");
    if (!v4) return null;
    const hex = Buffer.from(v4).toString("hex");
    text = `${tail[1]}${hex.slice(0, 4)}:${hex.slice(4)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  const head = groups[0] ?? [];
  const rest = groups[1] ?? [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  const out = new Uint8Array(16);
  all.forEach((g, i) => new DataView(out.buffer).setUint16(i * 2, Number.parseInt(g, 16)));
  return out;
}

type Range = { bytes: Uint8Array; bits: number; name: string };
const toRanges = (table: [string, string][], parse: (s: string) => Uint8Array | null): Range[] =>
  table.map(([cidr, name]) => {
    const [base = "", bits = ""] = cidr.split("/");
    const bytes = parse(base);
    if (!bytes) throw new Error(`bad range ${cidr}`);
    return { bytes, bits: Number(bits), name };
  });
const V4 = toRanges(IPV4_RANGES, parseIPv4);
const V6 = toRanges(IPV6_RANGES, parseIPv6);

function inRange(address: Uint8Array, range: Range): boolean {
  for (let bit = 0; bit < range.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    if (((address[bit >> 3] ?? 0) & mask) !== ((range.bytes[bit >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

// Why an address is not public ("loopback", "private", ...; an embedded IPv4 address's reason), or null when
// it is public. Not an address at all: "not an IP address".
export function nonPublicReason(address: string): string | null {
  const v4 = parseIPv4(address);
  if (v4) return V4.find((r) => inRange(v4, r))?.name ?? null;
  const v6 = parseIPv6(address);
  if (!v6) return "not an IP address";
  const range = V6.find((r) => inRange(v6, r));
  const at = range ? EMBEDDED_IPV4[range.name] : undefined;
  if (at === undefined) return range?.name ?? null;
  const inner = nonPublicReason(v6.subarray(at, at + 4).join("."));
  return inner && `${inner} (${range?.name})`;
}

const isLoopbackV4 = (address: string) => parseIPv4(address)?.[0] === 127;

function addressAllowed(address: string, options: EndpointOptions): boolean {
  return nonPublicReason(address) === null || (options.allowLoopback && isLoopbackV4(address));
}

const refuse = (reason: Refusal, detail: string): EndpointCheck => ({ ok: false, reason, detail });
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
const isAddress = (host: string) => parseIPv4(host) !== null || parseIPv6(host) !== null;

// The check at registration: the URL itself, and its host when it is an address or a localhost name.
export function checkEndpoint(endpoint: string, options: EndpointOptions): EndpointCheck {
  if (endpoint.length > MAX_ENDPOINT_LENGTH || !URL.canParse(endpoint)) return refuse("invalid_url", "not a URL");
  const url = new URL(endpoint);
  const host = hostOf(url);
  const loopbackLiteral = options.allowLoopback && isLoopbackV4(host);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackLiteral)) {
    return refuse("not_https", `${url.protocol} is not https:`);
  }
  if (url.username || url.password) return refuse("credentials", "the URL carries credentials");
  if (isAddress(host)) {
    if (!addressAllowed(host, options)) return refuse("not_public", `${host}: ${nonPublicReason(host)}`);
    return { ok: true, url, addresses: [host] };
  }
  if (!options.allowLoopback && /(^|\.)localhost$/i.test(host)) return refuse("not_public", `${host}: loopback`);
  return { ok: true, url, addresses: [] };
}

const systemLookup: Lookup = async (hostname) => (await Bun.dns.lookup(hostname)).map((a) => a.address);

// The check before a send: checkEndpoint, then every address the host resolves to must be allowed. The sender
// should connect to one of `addresses`, not resolve the name again, or a rebinding name could slip past.
export async function checkEndpointAtSend(
  endpoint: string,
  options: EndpointOptions,
  lookup: Lookup = systemLookup,
): Promise<EndpointCheck> {
  const checked = checkEndpoint(endpoint, options);
  if (!checked.ok || checked.addresses.length) return checked;
  const host = hostOf(checked.url);
  const addresses = await lookup(host).catch(() => []);
  if (!addresses.length) return refuse("unresolved", `${host} did not resolve`);
  const bad = addresses.find((a) => !addressAllowed(a, options));
  if (bad !== undefined) return refuse("not_public", `${host} resolves to ${bad}: ${nonPublicReason(bad)}`);
  return { ok: true, url: checked.url, addresses };
}
