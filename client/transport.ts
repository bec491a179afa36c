// The low-level transport: one HTTP request to the API, answered as {status, headers, body} whatever the
// status. It never throws for an HTTP status; only when no answer comes (NetworkError).
import { NetworkError } from "./errors.ts";
import type { Reply } from "./types.ts";

export type RequestOptions = {
  body?: unknown; // sent as JSON
  raw?: BodyInit; // sent as is (tests of malformed bodies); body wins when both are given
  session?: string; // sent as X-Session-Id
  headers?: Record<string, string>;
};

export type Request = <T = unknown>(method: string, path: string, opts?: RequestOptions) => Promise<Reply<T>>;

// baseUrl: "" in a page served by echat (same origin), else "https://chat.example".
export function createTransport(baseUrl = "", fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)): Request {
  const base = baseUrl.replace(/\/+$/, "");
  return async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.session) headers["x-session-id"] = opts.session;
    let body = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    let res: Response;
    let text: string;
    try {
      res = await fetchImpl(base + path, { method, headers, body });
      text = await res.text();
    } catch {
      throw new NetworkError();
    }
    return { status: res.status, headers: res.headers, body: parse(text) as never };
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
