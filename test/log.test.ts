// The log cannot be steered by what clients send: control characters are escaped in both formats, and a
// source that keeps hitting a rate limit is logged once a minute, not once per attempt.
import { afterEach, describe, expect, test } from "bun:test";
import type { Config } from "../lib/config.ts";
import { call } from "./support/http.ts";
import { LogSink } from "./support/log.ts";
import { startServer, type TestServer } from "./support/server.ts";

let s: TestServer | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

async function server(config: Partial<Config>) {
  const log = new LogSink();
  s = await startServer({
    config: { logLevel: "info", limits: true, loginFailsPerLogin: 1, ...config },
    log: log.write,
  });
  s.clock.freeze();
  return { t: s, log };
}

const attempt = (t: TestServer, login: string) =>
  call(t.url, "POST", "/v1/login", { body: { login, password: "password123" } });

// ESC [ (a colour), ESC ] 0 ; … BEL (an OSC that retitles the terminal), C1 NEL and CSI, DEL, bidi overrides.
const HOSTILE = "x\u001b[31mred\u001b]0;owned\u0007\u0085\u009b\u007f\u202ereversed\u2066\u2028";
const RAW = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

describe("control characters in the log", () => {
  test.each(["text", "json"] as const)("are escaped in the %s format", async (logFormat) => {
    const { t, log } = await server({ logFormat });
    expect((await attempt(t, HOSTILE)).status).toBe(422); // user_not_found: takes the login's one token
    expect((await attempt(t, HOSTILE)).status).toBe(429);
    const line = await log.next((l) => l.includes("login rate limited"));
    expect(line).not.toMatch(RAW);
    for (const escaped of [
      "\\u001b[31m",
      "\\u001b]0;owned\\u0007",
      "\\u0085",
      "\\u009b",
      "\\u007f",
      "\\u202e",
      "\\u2066",
    ])
      expect(line).toContain(escaped);
    if (logFormat === "json") expect(JSON.parse(line).login).toBe(HOSTILE);
    for (const l of log.lines) expect(l).not.toMatch(RAW);
  });
});

describe("rate-limited sources in the log", () => {
  test("an address over its limit is logged once a minute, however many attempts it makes", async () => {
    const { t, log } = await server({ logFormat: "text" });
    const count = () => log.lines.filter((l) => l.includes("login rate limited")).length;
    for (let i = 0; i < 20; i++) await attempt(t, `nobody${i % 2}`);
    expect(count()).toBe(1);
    t.clock.advance(59_000);
    for (let i = 0; i < 5; i++) expect((await attempt(t, "nobody0")).status).toBe(429);
    expect(count()).toBe(1);
    t.clock.advance(1_000);
    expect((await attempt(t, "nobody0")).status).toBe(422); // the login's token is back
    expect((await attempt(t, "nobody0")).status).toBe(429);
    expect(count()).toBe(2);
  });
});
