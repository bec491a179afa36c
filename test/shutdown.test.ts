// Graceful shutdown of a real child process: SIGTERM while clients are connected and writing.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { SOURCE, startChild } from "./support/child.ts";
import { call, createRoom, register } from "./support/http.ts";
import { isMessage, sendAll, Socket } from "./support/socket.ts";

const dir = mkdtempSync(join(tmpdir(), "echat-shutdown-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(["SIGTERM", "SIGINT"] as const)(
  "on %s: sockets get 1001, the request in flight is answered, every acked message is stored, exit 0",
  async (signal) => {
    const db = join(dir, `${signal}.db`);
    const child = await startChild(SOURCE, ["--db", db]);
    const startup = child.lines.find((l) => l.includes("listening on"))!;
    expect(startup).toContain(`echat ${pkg.version} listening on ${child.url}`);
    expect(child.lines.find((l) => l.includes(" store: "))).toContain(`store: SQLite ${db}, schema version`);

    const [alice, bob] = await Promise.all([register(child.url, "alice"), register(child.url, "bob")]);
    const room = await createRoom(child.url, alice!, [bob!]);
    const [a, b] = await Promise.all(
      [alice!, bob!].map((u) => Socket.open(`${child.wsUrl}/v1/rooms/${room}/chat?session_id=${u.session}`)),
    );
    const earlier = await sendAll(a!, ["one", "two", "three"]);

    // A registration whose body is still arriving when the signal comes.
    const raw = net.connect(Number(new URL(child.url).port), "127.0.0.1");
    await once(raw, "connect");
    const body = JSON.stringify({ login: "late", password: "late password" });
    let response = "";
    raw.on("data", (d) => (response += d));
    const rawClosed = once(raw, "close");
    raw.write(
      `POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    expect((await call(child.url, "GET", "/healthz")).status).toBe(200); // the server has read the headers by now

    // A burst in flight: signal as soon as the first of it is acknowledged.
    for (let i = 0; i < 30; i++) a!.send({ text: `burst ${i}`, client_id: `burst-${i}` });
    const firstAck = await a!.next((f) => f.client_id === "burst-0");
    child.proc.kill(signal);
    await child.waitFor((l) => l.includes("shutting down"));
    raw.write(body.slice(5));

    expect(await a!.closed).toEqual({ code: 1001, reason: "server shutting down" });
    expect(await b!.closed).toEqual({ code: 1001, reason: "server shutting down" });
    await rawClosed;
    expect(response).toStartWith("HTTP/1.1 200");
    expect(response).toMatch(/"session_id":"[0-9a-f]{40}"/);
    expect(await child.proc.exited).toBe(0);
    expect(child.lines.at(-1)).toContain("stopped");
    expect(child.lines.filter((l) => / (ERROR|WARN) /.test(l))).toEqual([]);
    expect(existsSync(`${db}-wal`)).toBe(false); // checkpointed and closed

    const acked = [...earlier, firstAck, ...a!.inbox.filter(isMessage)];
    const again = await startChild(SOURCE, ["--db", db]);
    try {
      const history = await call(again.url, "GET", `/v1/rooms/${room}/messages?limit=100`, { session: bob!.session });
      expect(history.status).toBe(200);
      for (const m of acked) expect(history.body).toContainEqual(m);
      expect(
        (await call(again.url, "POST", "/v1/login", { body: { login: "late", password: "late password" } })).status,
      ).toBe(200);
    } finally {
      again.proc.kill("SIGTERM");
      await again.proc.exited;
    }
  },
);
