// Load drivers on the raw client: closed loop (a window of messages in flight per sender),
// open loop (a fixed rate), and idle sockets. Message text is "~" + sender (3 digits) +
// send time (10 digits, µs since t0), found in a frame with one indexOf, no JSON parsing.
import { type RawWs, connectBun, connectRaw } from "./wsclient.ts";

// Frames are raw UTF-8 bytes from the raw client, strings from Bun's client (--client=bun).
type Frame = Uint8Array | string;
const useBunClient = Bun.argv.includes("--client=bun");
export const CLIENT = useBunClient ? "bun WebSocket" : "raw RFC 6455 on Bun.connect";

// room: send as a user stream does, {"type":"message","room_id",…}; resume: the socket is a user stream
// (WS /v1/stream), opened with {"type":"resume","rooms":{}} and ready once "synced" arrived.
export type ClientSpec = { path: string; sender: boolean; room?: number; resume?: boolean };

const t0 = performance.now();
const TILDE = 126;
const nowUs = () => Math.floor((performance.now() - t0) * 1000);

function text(sender: number) {
  return "~" + String(sender).padStart(3, "0") + String(nowUs()).padStart(10, "0");
}

const code = (p: Frame, i: number) => (typeof p === "string" ? p.charCodeAt(i) : p[i]!) - 48;
const tilde = (p: Frame) => (typeof p === "string" ? p.indexOf("~") : p.indexOf(TILDE));

function senderOf(p: Frame, i: number) {
  return code(p, i + 1) * 100 + code(p, i + 2) * 10 + code(p, i + 3);
}

function sentAt(p: Frame, i: number) {
  let t = 0;
  for (let k = i + 4; k < i + 14; k++) t = t * 10 + code(p, k);
  return t;
}

export class Samples {
  private buf: Float64Array;
  n = 0;
  constructor(cap = 1 << 21) {
    this.buf = new Float64Array(cap);
  }
  add(v: number) {
    if (this.n < this.buf.length) this.buf[this.n++] = v;
  }
  percentiles() {
    const s = this.buf.subarray(0, this.n).sort();
    const at = (q: number) => (this.n ? s[Math.min(this.n - 1, Math.floor(q * this.n))]! / 1000 : NaN);
    return { p50: at(0.5), p99: at(0.99), max: this.n ? s[this.n - 1]! / 1000 : NaN };
  }
}

export type Counters = { deliveries: number; acks: number; latency: Samples; measuring: boolean };

const SYNCED = '{"type":"synced"}';
const isSynced = (p: Frame) =>
  p.length === SYNCED.length && (typeof p === "string" ? p : new TextDecoder().decode(p)) === SYNCED;

// A stream's frames before "synced" (hello, a "room" per room it is in) are not the scenario's.
async function connectOne(port: number, spec: ClientSpec, onFrame: (p: Frame) => void): Promise<RawWs> {
  const connect = useBunClient ? connectBun : connectRaw;
  if (!spec.resume) return connect(port, spec.path, onFrame);
  let synced!: () => void;
  const ready = new Promise<void>((r) => (synced = r));
  let live = false;
  const ws = await connect(port, spec.path, (p: Frame) => {
    if (live) onFrame(p);
    else if (isSynced(p)) {
      live = true;
      synced();
    }
  });
  ws.send('{"type":"resume","rooms":{}}');
  await ready;
  return ws;
}

async function openAll(specs: ClientSpec[], port: number, onFrame: (i: number, p: Frame) => void, batch = 250) {
  const out: RawWs[] = [];
  for (let i = 0; i < specs.length; i += batch) {
    const part = specs.slice(i, i + batch).map((s, k) => connectOne(port, s, (p: Frame) => onFrame(i + k, p)));
    out.push(...(await Promise.all(part)));
  }
  return out;
}

function messageFrame(spec: ClientSpec, text: string, clientId: string | null) {
  const id = clientId ? `,"client_id":"${clientId}"` : "";
  return spec.room === undefined
    ? `{"text":"${text}"${id}}`
    : `{"type":"message","room_id":${spec.room},"text":"${text}"${id}}`;
}

export type Session = {
  counters: Counters;
  start(): void; // begin sending
  stop(): Promise<void>; // stop sending, wait for what is in flight, close
};

// Closed loop: each sender keeps `window` of its own messages unacknowledged.
// sampleEvery: record the latency of one delivery to another member in this many.
// clientId: "v4" random (as docs/api.md advises), "v7" time-ordered, or none.
export async function closedLoop(
  port: number,
  specs: ClientSpec[],
  window: number,
  o: { clientId?: "v4" | "v7"; sampleEvery: number },
): Promise<Session> {
  const c: Counters = { deliveries: 0, acks: 0, latency: new Samples(), measuring: false };
  let running = false;
  let inFlight = 0;
  let onIdle: (() => void) | null = null;
  const send = (i: number) => {
    inFlight++;
    const t = text(i);
    const id = o.clientId === "v4" ? crypto.randomUUID() : o.clientId === "v7" ? Bun.randomUUIDv7() : null;
    socks[i]!.send(messageFrame(specs[i]!, t, id));
  };
  let k = 0;
  const socks = await openAll(specs, port, (i, p) => {
    const at = tilde(p);
    if (at < 0) return;
    const from = senderOf(p, at);
    if (c.measuring) c.deliveries++;
    if (from === i) {
      inFlight--;
      if (c.measuring) c.acks++;
      if (running) send(i);
      else if (inFlight === 0) onIdle?.();
    } else if (c.measuring && ++k % o.sampleEvery === 0) {
      c.latency.add(nowUs() - sentAt(p, at));
    }
  });
  return {
    counters: c,
    start() {
      running = true;
      specs.forEach((s, i) => {
        if (s.sender) for (let w = 0; w < window; w++) send(i);
      });
    },
    async stop() {
      running = false;
      c.measuring = false;
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => (onIdle = r)), Bun.sleep(5000)]);
      }
      for (const s of socks) s.close();
    },
  };
}

// Open loop: `rate` messages per second in total, spread round-robin over the senders.
export async function openLoop(port: number, specs: ClientSpec[], rate: number): Promise<Session> {
  const c: Counters = { deliveries: 0, acks: 0, latency: new Samples(), measuring: false };
  const socks = await openAll(specs, port, (i, p) => {
    const at = tilde(p);
    if (at < 0 || !c.measuring) return;
    c.deliveries++;
    if (senderOf(p, at) === i) c.acks++;
    else c.latency.add(nowUs() - sentAt(p, at));
  });
  let timer: Timer | undefined;
  return {
    counters: c,
    start() {
      const begin = performance.now();
      let sent = 0;
      let next = 0;
      timer = setInterval(() => {
        const due = Math.floor(((performance.now() - begin) * rate) / 1000);
        for (; sent < due; sent++) {
          next = (next + 1) % socks.length;
          socks[next]!.send(messageFrame(specs[next]!, text(next), null));
        }
      }, 1);
    },
    async stop() {
      clearInterval(timer);
      c.measuring = false;
      await Bun.sleep(50);
      for (const s of socks) s.close();
    },
  };
}

export async function idleSockets(port: number, paths: string[]) {
  const socks = await openAll(
    paths.map((path) => ({ path, sender: false })),
    port,
    () => {},
    500,
  );
  return { count: socks.length, close: () => socks.forEach((s) => s.close()) };
}
