// A WebSocket client on a bare TCP socket (node:net), for what the WebSocket API cannot do: stop
// reading (a slow or stalled consumer) and never answer pings. Frames are parsed afterwards.
import net from "node:net";
import { Changes, waitFor } from "./waiting.ts";

export type RawFrame = { opcode: number; payload: Buffer };

export class RawSocket {
  private chunks: Buffer[] = [];
  private changes = new Changes();
  readonly ended: Promise<void>;

  private constructor(readonly tcp: net.Socket) {
    tcp.on("data", (d) => {
      this.chunks.push(Buffer.from(d));
      this.changes.notify();
    });
    this.ended = new Promise((resolve) => tcp.on("close", () => resolve()));
  }

  // Upgrades to the chat URL and waits for the server's first answer; paused: reads nothing more after it.
  static async open(url: string, { paused = false } = {}): Promise<RawSocket> {
    const u = new URL(url);
    const raw = new RawSocket(net.connect(Number(u.port), u.hostname));
    raw.tcp.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise<void>((resolve) => raw.tcp.once("data", () => resolve()));
    if (paused) raw.tcp.pause();
    return raw;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  // The frames after the handshake's response head.
  frames(): RawFrame[] {
    const bytes = this.bytes;
    return parseFrames(bytes.subarray(bytes.indexOf("\r\n\r\n") + 4));
  }

  // A text frame, masked as a client's must be.
  sendText(text: string) {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const head =
      payload.length < 126
        ? Buffer.from([0x81, 0x80 | payload.length])
        : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    this.tcp.write(Buffer.concat([head, mask, body]));
  }

  // Reads again until the frames so far satisfy check.
  readUntil<T>(check: (frames: RawFrame[]) => T | undefined, timeoutMs = 10000): Promise<T> {
    this.tcp.resume();
    return waitFor(() => check(this.frames()), timeoutMs, this.changes);
  }
}

export const messageIds = (frames: RawFrame[]) =>
  frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()).id as number);

function parseFrames(buf: Buffer) {
  const frames: RawFrame[] = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    const opcode = buf[i]! & 0x0f;
    let len = buf[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) (len = buf.readUInt16BE(at)), (at += 2);
    else if (len === 127) (len = Number(buf.readBigUInt64BE(at))), (at += 8);
    if (at + len > buf.length) break;
    frames.push({ opcode, payload: buf.subarray(at, at + len) });
    i = at + len;
  }
  return frames;
}
