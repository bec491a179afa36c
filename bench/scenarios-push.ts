// Issue 18: scenario 4's chat (100 users in 10 rooms of 10, 2,000 msg/s, open loop) where each room also holds
// 10 members who are offline, against the same rooms' twins whose 10 offline members have no push subscription.
// "server" below is the run with push (100 offline users subscribed, every message queued for them, pushes sent
// to a loopback push service in this process that answers 201), "baseline" the run without: the ratio is what
// push costs the chat. Both run on one echat process, alternating, so they share the machine's state.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientSpec, openLoop, type Session } from "./load.ts";
import { type Child, startEchat } from "./procs.ts";
import { post } from "./setup.ts";

type Measure = (child: Child, session: Session) => Promise<Record<string, number>>;
const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

async function subscription(endpoint: string) {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const p256dh = Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url");
  const auth = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  return { endpoint, keys: { p256dh, auth } };
}

// 100 chat users (0..99), 100 offline subscribed (100..199), 100 offline without subscriptions (200..299).
async function setup(base: string, pushOrigin: string) {
  const tag = Date.now().toString(36);
  const logins = range(0, 300).map((i) => `p${tag}u${i}`);
  const tokens: string[] = [];
  for (let i = 0; i < logins.length; i += 25) {
    const part = logins.slice(i, i + 25).map((login) => post(base, "/v1/register", { login, password: "bench-pass" }));
    for (const r of await Promise.all(part)) tokens.push(r.session_id);
  }
  const room = async (members: number[]) =>
    (await post(base, "/v1/rooms", { users: members.slice(1).map((m) => ({ login: logins[m] })) }, tokens[members[0]!]))
      .id as number;
  const pushRooms = await Promise.all(
    range(0, 10).map((r) => room([...range(10 * r, 10), ...range(100 + 10 * r, 10)])),
  );
  const bareRooms = await Promise.all(
    range(0, 10).map((r) => room([...range(10 * r, 10), ...range(200 + 10 * r, 10)])),
  );
  for (const u of range(100, 100)) {
    await post(base, "/v1/push/subscriptions", await subscription(`${pushOrigin}/push/${u}`), tokens[u]);
  }
  const specs = (rooms: number[]) =>
    range(0, 100).map(
      (u): ClientSpec => ({
        path: `/v1/rooms/${rooms[Math.floor(u / 10)]}/chat?session_id=${tokens[u]}`,
        sender: true,
      }),
    );
  return { push: specs(pushRooms), bare: specs(bareRooms) };
}

// Until no push has come for 6 s (past the 5 s between two pushes of a room to a subscription; at most 20 s).
async function quiet(count: () => number) {
  const end = performance.now() + 20_000;
  let last = count();
  let since = performance.now();
  while (performance.now() < end && performance.now() - since < 6000) {
    await Bun.sleep(100);
    if (count() !== last) (last = count()), (since = performance.now());
  }
}

export async function pushScenario(rounds: number, measure: Measure) {
  let pushes = 0;
  const service = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => (await req.arrayBuffer(), pushes++, new Response(null, { status: 201 })),
  });
  const dir = mkdtempSync(join(tmpdir(), "echat-bench-push-"));
  const child = await startEchat({
    db: join(dir, "push.db"),
    cheapPasswords: true,
    env: { ECHAT_PUSH_ALLOW_LOOPBACK: "1" },
  });
  const out: ["server" | "baseline", Record<string, number>][] = [];
  try {
    const specs = await setup(`http://127.0.0.1:${child.port}`, `http://127.0.0.1:${service.port}`);
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 ? (["server", "baseline"] as const) : (["baseline", "server"] as const)) {
        const before = pushes;
        const started = performance.now();
        const v = await measure(child, await openLoop(child.port, kind === "server" ? specs.push : specs.bare, 2000));
        out.push([kind, { ...v, pushes_per_s: ((pushes - before) * 1000) / (performance.now() - started) }]);
        // The pushes still pending after a run with push (at most one per subscription, up to 5 s later) go out
        // before the next run starts, so that the run without push does not pay for them.
        if (kind === "server") await quiet(() => pushes);
      }
    }
  } finally {
    await child.stop();
    await service.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
