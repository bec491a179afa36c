// Files for tests: crafted image headers, uploads through the API (checked against the documents like every
// call), and downloads of a file's url.
import { checkedFetch } from "./contract.ts";
import type { Account } from "./http.ts";

// A PNG's signature and IHDR with the given size (and a few more bytes: enough for the size, not a real image).
export function pngHeader(width: number, height: number, extra = 16): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(33 + extra);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const v = new DataView(b.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  return b;
}

export type Upload = { status: number; body: any; headers: Headers };

export async function upload(
  base: string,
  who: Account,
  room: number,
  bytes: BodyInit,
  opts: { name?: string; type?: string; headers?: Record<string, string> } = {},
): Promise<Upload> {
  const name = opts.name ?? "file.bin";
  const headers: Record<string, string> = { "x-session-id": who.session, ...opts.headers };
  if (opts.type) headers["content-type"] = opts.type;
  const res = await checkedFetch(`${base}/v1/rooms/${room}/files?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers,
    body: bytes,
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

// GET of a url (relative to base), checked against the documents; the body as bytes.
export async function download(base: string, url: string, headers: Record<string, string> = {}) {
  const res = await checkedFetch(base + url, { headers });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}
