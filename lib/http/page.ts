// The built-in web client (web/). Bun bundles the HTML import and `bun build --compile` embeds it, but
// Bun's HTML routes take no custom headers: the bundle is mounted at a path no one else knows, this
// process fetches the page from there once, and / and /index.html answer those bytes with the
// security headers. So every HTML response carries them (frame-ancestors: no other site can frame it).
// Its service worker (/sw.js) is web/sw.ts, embedded as text (server.ts imports it) and transpiled here, once.
import type { HTMLBundle, Server } from "bun";
import { methods } from "./respond.ts";

// No inline script or style, nothing from other origins; WebSockets to this origin only; the service
// worker from this origin.
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The worker's own policy (a worker follows its script's headers, not the page's): it only fetches this origin.
const WORKER_HEADERS = {
  "content-type": "text/javascript; charset=utf-8",
  "content-security-policy": "default-src 'none'; connect-src 'self'",
  "cache-control": "no-cache", // browsers check it for updates; always against the server
  "x-content-type-options": "nosniff",
};

const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": CSP,
  "x-frame-options": "DENY", // frame-ancestors for browsers that predate it
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

// worker: `import * as worker from "./web/sw.ts" with { type: "text" }`, whose default is the text (TypeScript
// sees the module, hence the namespace).
export function pageRoutes(page: HTMLBundle, worker: object) {
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
  const script = transpileWorker((worker as { default: string }).default);
  const serveWorker = methods({ GET: () => new Response(script, { headers: WORKER_HEADERS }) });
  return { [bundlePath]: page, "/": handler, "/index.html": handler, "/sw.js": serveWorker };
}

// Types go; what is left must be a classic script (a service worker module is not supported everywhere), so
// web/sw.ts imports nothing at run time.
function transpileWorker(source: string): string {
  const js = new Bun.Transpiler({ loader: "ts", target: "browser" }).transformSync(source);
  if (/^\s*(import|export)\b/m.test(js)) throw new Error("web/sw.ts must import and export nothing at run time");
  return js;
}
