// A WebSocket client for tests: frames queue up in an inbox; next() takes the first one matching
// a predicate, waiting for it (never sleeping) up to a timeout. Every frame received is checked against
// the AsyncAPI document (contract.ts): next() throws at a frame it does not describe.
import { checkFrame, checkReply, observeClose, observeSent, violation } from "./contract.ts";
import type { Account } from "./http.ts";
import { Changes, waitFor } from "./waiting.ts";

export class Socket {
  readonly inbox: any[] = [];
  private problem: Error | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  private changes = new Changes();

  // skip: frames checked against the document but not kept (a test that does not look at them).
  private constructor(
    readonly ws: WebSocket,
    skip?: (f: any) => boolean,
  ) {
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data));
      const problem = checkFrame(frame);
      if (problem) this.problem ??= violation(problem);
      if (skip?.(frame)) return;
      this.inbox.push(frame);
      this.changes.notify();
    });
    this.closed = new Promise((resolve) =>
      ws.addEventListener("close", (e) => {
        observeClose(e.code);
        resolve({ code: e.code, reason: e.reason });
        this.changes.notify();
      }),
    );
  }

  static open(url: string, opts: { skip?: (f: any) => boolean } = {}): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const s = new Socket(ws, opts.skip);
      ws.addEventListener("open", () => (checkReply("GET", url, 101, new Headers(), undefined), resolve(s)), {
        once: true,
      });
      ws.addEventListener("error", () => reject(new Error(`cannot connect ${url}`)), { once: true });
    });
  }

  send(frame: unknown) {
    observeSent(typeof frame === "string" ? undefined : frame);
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  next(match: (f: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const take = () => {
      if (this.problem) throw this.problem;
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("socket closed while waiting for a frame");
    };
    const failure = () =>
      `no matching frame within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`;
    return waitFor(take, timeoutMs, this.changes, failure);
  }

  // The next n frames that match, in arrival order.
  async take(n: number, match: (f: any) => boolean = () => true, timeoutMs = 10000): Promise<any[]> {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(match, timeoutMs));
    return out;
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

export function chatUrl(s: { wsUrl: string }, room: number, who: Account, query: Record<string, string | number> = {}) {
  const q = new URLSearchParams({
    session_id: who.session,
    ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])),
  });
  return `${s.wsUrl}/v1/rooms/${room}/chat?${q}`;
}

// A user stream's presence frame (user-presence.ts), which tests of other things skip.
export const isUserPresence = (f: any) => f.type === "presence" && "user_id" in f;
// A user stream, for tests that do not look at presence.
export const openStream = (url: string) => Socket.open(url, { skip: isUserPresence });

export const streamUrl = (s: { wsUrl: string }, who: { session: string }) =>
  `${s.wsUrl}/v1/stream?session_id=${who.session}`;

export const isMessage = (f: any) => typeof f.id === "number" && typeof f.text === "string";

// One frame sent on a fresh room socket at url, and its answer: the stored message or an error frame.
export async function answerTo(url: string, frame: object): Promise<any> {
  const sock = await Socket.open(url);
  sock.send(frame);
  const answer = await sock.next((f) => isMessage(f) || f.error !== undefined);
  await sock.close();
  return answer;
}

// Sends texts and waits for each ack (the sender's own copy), returning the stored messages.
export async function sendAll(sock: Socket, texts: string[]): Promise<any[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  texts.forEach((text, i) => sock.send({ text, client_id: `${tag}-${i}` }));
  const acks = [];
  for (let i = 0; i < texts.length; i++) acks.push(await sock.next((f) => f.client_id === `${tag}-${i}`));
  return acks;
}
