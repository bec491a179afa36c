// One room's WebSocket. After any drop it reconnects with backoff and ?after=<last id seen>, so the
// server replays exactly what was missed: nothing lost, nothing doubled. 4001 (logged out) is final.
import { client } from "./client.ts";

export type Frame = Record<string, any>;
export type ConnState = "connecting" | "open" | "reconnecting";

export type Listener = {
  frame(f: Frame): void;
  state(s: ConnState): void;
  lastId(): number;
  loggedOut(): void;
  mayReconnect(): Promise<boolean>; // false: stop trying (the session or the room is gone)
};

const BACKOFF_MS = [300, 600, 1200, 2500, 5000, 10000];

export class RoomSocket {
  private ws?: WebSocket;
  private tries = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;

  constructor(
    private room: number,
    private on: Listener,
  ) {
    this.connect();
    addEventListener("online", this.retryNow);
  }

  private connect() {
    const q = new URLSearchParams({
      session_id: client.session ?? "",
      after: String(this.on.lastId()),
      events: "typing,presence,read",
    });
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/v1/rooms/${this.room}/chat?${q}`);
    this.ws = ws;
    this.on.state(this.tries ? "reconnecting" : "connecting");
    ws.onopen = () => {
      this.tries = 0;
      this.on.state("open");
    };
    ws.onmessage = (e) => {
      let f: unknown;
      try {
        f = JSON.parse(String(e.data));
      } catch {
        return;
      }
      if (f && typeof f === "object") this.on.frame(f as Frame);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws || this.stopped) return;
      if (e.code === 4001) return this.on.loggedOut();
      this.on.state("reconnecting");
      const base = BACKOFF_MS[Math.min(this.tries++, BACKOFF_MS.length - 1)]!;
      this.timer = setTimeout(() => this.retry(), base * (0.75 + Math.random() / 2));
    };
  }

  private async retry() {
    if (this.stopped) return;
    if (await this.on.mayReconnect()) {
      if (!this.stopped) this.connect();
    }
  }

  private retryNow = () => {
    if (this.ws?.readyState !== WebSocket.CLOSED || this.stopped) return;
    clearTimeout(this.timer);
    this.retry();
  };

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(frame: object): boolean {
    if (!this.open) return false;
    this.ws!.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener("online", this.retryNow);
    this.ws?.close(1000);
  }
}
