// Crash durability: the server runs as a child process; several senders pipeline messages; the
// child is killed with SIGKILL after a seeded number of acks, restarted on the same database, and
// every acknowledged message must be in history, once, in the order its sender sent it.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { prng } from "./support/prng.ts";
import { every, waitFor } from "./support/waiting.ts";

const SEED = 424242;
const ROUNDS = 4;
const WINDOW = 16; // unacknowledged messages in flight per sender

const root = join(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "echat-crash-"));
const db = join(dir, "echat.db");
let child: Bun.Subprocess | undefined;
afterAll(() => {
  child?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// Starts `bun main.ts` on the database and waits until its port accepts connections.
async function spawnServer(): Promise<string> {
  const port = await freePort();
  child = Bun.spawn([process.execPath, "main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      ECHAT_DB: db,
      ECHAT_LOG_LEVEL: "error",
      ECHAT_LIMITS: "off",
      ECHAT_PASSWORD_MEMORY: "64",
      ECHAT_PASSWORD_TIME: "1",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const up = () =>
    new Promise<string | undefined>((resolve, reject) => {
      if (child!.exitCode !== null) return reject(new Error(`server did not start (exit ${child!.exitCode})`));
      const sock = net.connect(port, "127.0.0.1", () => (sock.end(), resolve(`http://127.0.0.1:${port}`)));
      sock.on("error", () => resolve(undefined));
    });
  // A child process has no readiness event to await: its port is probed.
  return waitFor(up, 10_000, every(25), () => `server did not start (exit ${child!.exitCode})`);
}

type Sender = Account & {
  room: number;
  sent: Array<{ cid: string; text: string; round: number }>;
  acked: Map<string, number>;
};

// Sends until the socket dies, keeping WINDOW messages in flight; retries first what earlier rounds
// sent without an ack (same client_id, as a real client would). Calls onAck for every ack.
function pump(base: string, sender: Sender, round: number, onAck: () => void): Promise<void> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/rooms/${sender.room}/chat?session_id=${sender.session}`);
  const retries = sender.sent.filter((m) => !sender.acked.has(m.cid));
  let n = 0;
  let inflight = 0;
  const send = (m: Sender["sent"][number]) => {
    ws.send(JSON.stringify({ text: m.text, client_id: m.cid }));
    inflight++;
  };
  const fill = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    while (inflight < WINDOW) {
      const retry = retries.shift();
      if (retry) {
        send(retry);
        continue;
      }
      const m = { cid: `${sender.login}-r${round}-${n}`, text: `${sender.login} round ${round} #${n++}`, round };
      sender.sent.push(m);
      send(m);
    }
  };
  ws.onopen = fill;
  ws.onmessage = (e) => {
    const f = JSON.parse(String(e.data));
    if (f.user_id !== sender.id || typeof f.client_id !== "string" || sender.acked.has(f.client_id)) return;
    sender.acked.set(f.client_id, f.id);
    inflight--;
    onAck();
    fill();
  };
  return new Promise((resolve) => (ws.onclose = () => resolve()));
}

async function history(base: string, room: number, session: string) {
  const out: any[] = [];
  for (let after = 0; ; ) {
    const page = (await call(base, "GET", `/v1/rooms/${room}/messages?after=${after}&limit=200`, { session })).body;
    if (page.length === 0) return out;
    out.push(...page);
    after = page.at(-1).id;
  }
}

function integrityCheck() {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.query("PRAGMA integrity_check").all();
  } finally {
    conn.close();
  }
}

test(`${ROUNDS} SIGKILLs at seeded moments lose no acknowledged message, duplicate none, reorder none`, async () => {
  const r = prng(SEED);
  let base = await spawnServer();
  const accounts = [];
  for (const login of ["ann", "ben", "cid", "dot", "eve"]) accounts.push(await register(base, login));
  const [ann, ben, cid, dot, eve] = accounts as [Account, Account, Account, Account, Account];
  const roomA = await createRoom(base, ann, [ben, cid]);
  const roomB = await createRoom(base, dot, [eve, cid]);
  const senders: Sender[] = [
    { ...ann, room: roomA },
    { ...ben, room: roomA },
    { ...cid, room: roomA },
    { ...dot, room: roomB },
    { ...eve, room: roomB },
  ].map((a) => ({ ...a, sent: [], acked: new Map() }));

  const report: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const killAt = 30 + r.int(400); // acks in this round before the kill
    let acks = 0;
    const victim = child!;
    const pumps = senders.map((sn) =>
      pump(base, sn, round, () => {
        if (++acks === killAt) victim.kill("SIGKILL");
      }),
    );
    await victim.exited;
    await Promise.all(pumps);
    expect(victim.signalCode).toBe("SIGKILL");

    base = await spawnServer();
    expect(integrityCheck()).toEqual([{ integrity_check: "ok" }]);
    let inFlightStored = 0;
    for (const sn of senders) {
      const stored = (await history(base, sn.room, sn.session)).filter((m) => m.user_id === sn.id);
      const byCid = new Map<string, any>();
      for (const m of stored) {
        expect(byCid.has(m.client_id)).toBe(false); // no duplicates
        byCid.set(m.client_id, m);
      }
      expect(new Set(stored.map((m) => m.id)).size).toBe(stored.length);
      for (const m of sn.sent) {
        const ackedId = sn.acked.get(m.cid);
        const found = byCid.get(m.cid);
        if (ackedId !== undefined) {
          expect({ cid: m.cid, id: found?.id, text: found?.text }).toEqual({ cid: m.cid, id: ackedId, text: m.text });
        } else if (found) {
          inFlightStored++; // stored but the ack was lost with the process: the client's retry will find it
        }
      }
      // What a sender sent this round is stored in the order sent (retries come next round).
      const ids = sn.sent.filter((m) => m.round === round && byCid.has(m.cid)).map((m) => byCid.get(m.cid).id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
    const total = senders.reduce((n, sn) => n + sn.acked.size, 0);
    report.push(
      `round ${round}: killed after ${killAt} acks, ${total} acked in all, ${inFlightStored} stored without an ack`,
    );
  }
  console.log(`crash: seed ${SEED}\n  ${report.join("\n  ")}`);
  child!.kill("SIGTERM");
  await child!.exited;
  expect(integrityCheck()).toEqual([{ integrity_check: "ok" }]);
}, 60_000);
