// The reconnecting core every echat socket is built on (the room socket today, a user stream later): it
// opens a WebSocket at a URL the owner computes per attempt (so it can resume), hands over each JSON frame,
// and after a drop waits a jittered, capped backoff and tries again, until a close code says not to, the
// owner's check before a retry fails, or the app closes it.
import { type Backoff, backoffDelay } from "./backoff.ts";
import { reconnectsAfter } from "./close-codes.ts";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";
export type StateChange = { state: ConnectionState; attempt: number; delayMs?: number };
// Why a socket ended for good: a close code that forbids reconnecting, an error the owner's prepare() threw
// and called fatal (the session or the room is gone), or the app's close() (code 1000).
export type Ended = { code: number; reason: string; error?: Error };

export type ConnectionHooks = {
  // The URL of the next attempt; retry: false on the first. May throw: fatal(e) decides whether to stop.
  prepare(retry: boolean): Promise<string>;
  fatal(e: unknown): boolean;
  opened(): void;
  frame(frame: Record<string, unknown>): void;
  state(change: StateChange): void;
  ended(end: Ended): void;
};

export type WebSocketLike = typeof WebSocket;

export class Connection {
  private ws?: WebSocket;
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;

  constructor(
    private hooks: ConnectionHooks,
    private backoff: Backoff,
    private Socket: WebSocketLike = WebSocket,
  ) {
    globalThis.addEventListener?.("online", this.retryNow);
  }

  start() {
    this.hooks.state({ state: "connecting", attempt: 0 });
    void this.connect(false);
  }

  get open(): boolean {
    return this.ws?.readyState === 1;
  }

  send(frame: object): boolean {
    if (!this.open) return false;
    this.ws!.send(JSON.stringify(frame));
    return true;
  }

  // The app is done with it: final, never reconnects.
  close() {
    this.end({ code: 1000, reason: "closed by the client" });
  }

  private async connect(retry: boolean) {
    let url: string;
    try {
      url = await this.hooks.prepare(retry);
    } catch (e) {
      if (this.stopped) return;
      if (this.hooks.fatal(e)) return this.end({ code: 0, reason: (e as Error).message, error: e as Error });
      return this.scheduleRetry();
    }
    if (this.stopped) return;
    const ws = new this.Socket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.hooks.state({ state: "open", attempt: 0 });
      this.hooks.opened();
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => {
      if (this.ws !== ws || this.stopped) return;
      if (!reconnectsAfter(e.code)) return this.end({ code: e.code, reason: e.reason });
      this.scheduleRetry();
    };
  }

  private receive(data: unknown) {
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if (frame && typeof frame === "object" && !Array.isArray(frame)) this.hooks.frame(frame as Record<string, unknown>);
  }

  private scheduleRetry() {
    const delayMs = backoffDelay(this.attempt++, this.backoff);
    this.hooks.state({ state: "reconnecting", attempt: this.attempt, delayMs });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect(true);
    }, delayMs);
  }

  // The browser says the network is back: try at once instead of waiting out the delay.
  private retryNow = () => {
    if (this.stopped || !this.timer) return; // only while waiting out a delay
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.connect(true);
  };

  private end(end: Ended) {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    globalThis.removeEventListener?.("online", this.retryNow);
    if (this.ws && this.ws.readyState < 2) this.ws.close(1000);
    this.hooks.state({ state: "closed", attempt: this.attempt });
    this.hooks.ended(end);
  }
}

// ws(s)://host of the API; in a page served by echat (baseUrl ""), the page's own host.
export function socketBase(baseUrl: string): string {
  if (baseUrl) return baseUrl.replace(/^http/, "ws").replace(/\/+$/, "");
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
}
