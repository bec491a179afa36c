// A push request goes to the address the send-time check resolved and accepted, not to a second resolution of
// the name (DNS rebinding): lib/push/send.ts with a resolver of the test's own, against an HTTPS push service on
// loopback whose certificate (made here with openssl) names push.test. The request dials the checked address,
// sends Host and SNI for the name, and the certificate is verified against the name; a name resolving to a
// private address is never dialled.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sendPush } from "../lib/push/send.ts";
import { run } from "./support/child.ts";

const dir = mkdtempSync(join(tmpdir(), "echat-pin-"));
let cert = "";
let server: ReturnType<typeof Bun.serve>;
const seen: { host: string | null; url: string }[] = [];

async function certificate(name: string) {
  const [key, crt] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  const made = await run(
    ["openssl"],
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      crt,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      `subjectAltName=DNS:${name}`,
    ],
  );
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  return { key: await Bun.file(key).text(), cert: await Bun.file(crt).text() };
}

beforeAll(async () => {
  const made = await certificate("push.test");
  cert = made.cert;
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: made,
    fetch: (req) => (seen.push({ host: req.headers.get("host"), url: req.url }), new Response(null, { status: 201 })),
  });
});
afterAll(async () => {
  await server?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const body = new Uint8Array(8);
const options = (addresses: string[], ca = cert) => ({
  allowLoopback: true,
  ca,
  lookup: async () => addresses,
});

test("the request dials the checked address, with the push service's name in Host and SNI", async () => {
  const endpoint = `https://push.test:${server.port}/send/abc?x=1`;
  expect(await sendPush(endpoint, body, {}, options(["127.0.0.1"]))).toEqual({ kind: "sent" });
  expect(seen.at(-1)).toEqual({
    host: `push.test:${server.port}`,
    url: `https://push.test:${server.port}/send/abc?x=1`,
  });
});

test("the certificate is checked against the name: a trusted certificate for another name fails", async () => {
  const before = seen.length;
  const r = await sendPush(`https://other.test:${server.port}/send/abc`, body, {}, options(["127.0.0.1"]));
  expect(r.kind).toBe("retry"); // a TLS failure is the network's: retried later, never sent
  expect(seen.length).toBe(before);
});

test("a name resolving to a private address is refused without a connection", async () => {
  const before = seen.length;
  const r = await sendPush(`https://push.test:${server.port}/x`, body, {}, options(["127.0.0.1", "10.1.2.3"]));
  expect(r).toMatchObject({ kind: "refused" });
  expect((await sendPush(`https://push.test:${server.port}/x`, body, {}, options([]))).kind).toBe("refused");
  expect(seen.length).toBe(before);
});
