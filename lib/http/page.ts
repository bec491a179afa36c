// The built-in web client (web/). Bun bundles the HTML import and `bun build --compile` embeds it, but
// Bun's HTML routes take no custom headers: the bundle is mounted at a path no one else knows, this
// process fetches the page from there once, and / and /index.html answer those bytes with the
// security headers. So every HTML response carries them (frame-ancestors: no other site can frame it).
import type { HTMLBundle, Server } from "bun";
import { methods } from "./respond.ts";

// No inline script or style, nothing from other origins; WebSockets to this origin only.
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": CSP,
  "x-frame-options": "DENY", // frame-ancestors for browsers that predate it
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function pageRoutes(page: HTMLBundle) {
  // 128 random bits per process: the raw bundle (without headers) is reachable only by this process.
  const bundlePath = `/_bundle-${crypto.getRandomValues(new Uint8Array(16)).toHex()}`;
  let html: Promise<string> | undefined;
  async function bundled(server: Server<any>) {
    const res = await fetch(new URL(bundlePath, server.url));
    if (!res.ok) throw new Error(`bundling the web client failed: ${res.status}`);
    return res.text();
  }
  const handler = methods({
    async GET(_req, server) {
      html ??= bundled(server).catch((e) => {
        html = undefined; // try again on the next request
        throw e;
      });
      return new Response(await html, { headers: HEADERS });
    },
  });
  return { [bundlePath]: page, "/": handler, "/index.html": handler };
}
