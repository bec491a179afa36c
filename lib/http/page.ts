// The built-in web client (web/). Bun bundles the HTML import and `bun build --compile` embeds it, but
// Bun's HTML routes take no custom headers: the bundle is served at /index.html and / answers the same
// bytes with the Content-Security-Policy (the page also carries it in a <meta> for /index.html).
import type { HTMLBundle, Server } from "bun";
import { methods } from "./respond.ts";

// No inline script or style, nothing from other origins; WebSockets to this origin only.
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function pageRoutes(page: HTMLBundle) {
  let html: Promise<string> | undefined;
  async function bundled(server: Server<any>) {
    const res = await fetch(new URL("/index.html", server.url));
    if (!res.ok) throw new Error(`bundling the web client failed: ${res.status}`);
    return res.text();
  }
  return {
    "/index.html": page,
    "/": methods({
      async GET(_req, server) {
        html ??= bundled(server).catch((e) => {
          html = undefined; // try again on the next request
          throw e;
        });
        return new Response(await html, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": CSP,
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
          },
        });
      },
    }),
  };
}
