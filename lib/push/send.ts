// One Web Push request (RFC 8030): the endpoint checked again (endpoint.ts), then a POST to one of the addresses
// that check resolved and accepted, never to a fresh resolution of the name (a rebinding name could point
// elsewhere by then): the URL names the address, and the Host header and TLS's server name (SNI and the
// certificate check) name the push service, as Bun's fetch documents for "connecting to a specific address".
import { checkEndpointAtSend, type EndpointOptions, type Lookup } from "./endpoint.ts";

// lookup: the resolver (tests give their own); ca: certificates to trust beside the system's (tests' own TLS).
export type SendOptions = EndpointOptions & {
  lookup?: Lookup;
  signal?: AbortSignal;
  timeoutMs?: number;
  ca?: string;
};
// sent: 2xx. gone: 404/410, the subscription has expired. retry: 429, 5xx or the network (retryAfterMs from the
// push service's Retry-After). rejected: another status. refused: the endpoint failed its check at send time.
export type SendResult =
  | { kind: "sent" }
  | { kind: "gone"; status: number }
  | { kind: "retry"; why: string; retryAfterMs?: number }
  | { kind: "rejected"; status: number; why: string }
  | { kind: "refused"; why: string };

const TIMEOUT_MS = 30_000;

// The URL to dial: the endpoint with its host replaced by the checked address (brackets for IPv6).
function pinned(url: URL, address: string): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ""}${url.pathname}${url.search}`;
}

const isLiteral = (url: URL, addresses: string[]) =>
  addresses.length === 1 && url.hostname.replace(/^\[(.*)\]$/, "$1") === addresses[0];

// Retry-After: seconds, or an HTTP date (RFC 9110 section 10.2.3).
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export async function sendPush(
  endpoint: string,
  body: Uint8Array<ArrayBuffer>,
  headers: Record<string, string>,
  options: SendOptions,
): Promise<SendResult> {
  const checked = await checkEndpointAtSend(endpoint, options, options.lookup);
  if (!checked.ok) return { kind: "refused", why: checked.detail };
  const { url, addresses } = checked;
  const literal = isLiteral(url, addresses);
  let last = "no address";
  // A name with several addresses: the next one when a connection fails (fetch has no fallback of its own).
  for (const address of addresses.slice(0, 3)) {
    const signal = AbortSignal.any([
      AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS),
      ...(options.signal ? [options.signal] : []),
    ]);
    const init: BunFetchRequestInit = {
      method: "POST",
      body,
      headers: { ...headers },
      redirect: "manual",
      proxy: false,
      signal,
    };
    if (!literal) {
      (init.headers as Record<string, string>).host = url.host;
      if (url.protocol === "https:") init.tls = { serverName: url.hostname, ...(options.ca ? { ca: options.ca } : {}) };
    }
    let res: Response;
    try {
      res = await fetch(literal ? url.href : pinned(url, address), init);
    } catch (e) {
      if (options.signal?.aborted) throw e;
      last = String(e);
      continue;
    }
    const detail = res.ok ? "" : (await res.text().catch(() => "")).slice(0, 200);
    if (res.ok) await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { kind: "sent" };
    if (res.status === 404 || res.status === 410) return { kind: "gone", status: res.status };
    if (res.status === 429 || res.status >= 500) {
      return {
        kind: "retry",
        why: `${res.status} ${detail}`,
        retryAfterMs: retryAfterMs(res.headers.get("retry-after"), Date.now()),
      };
    }
    return { kind: "rejected", status: res.status, why: detail };
  }
  return { kind: "retry", why: last };
}
