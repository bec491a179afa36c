// A minimal RFC 6455 client on Bun.connect: text frames, a zero mask, no extensions.
// It costs far less CPU per frame than Bun's WebSocket client, so one load process can
// saturate a server on the same machine. Frames arrive as raw UTF-8 payloads (Uint8Array).
import type { Socket } from "bun";

export type RawWs = {
  send(text: string): void;
  close(): void;
  readonly closed: boolean;
};

type State = {
  handshake: boolean;
  buf: Uint8Array | null; // unparsed bytes
  out: Uint8Array[]; // bytes the kernel did not take yet
  onFrame: (payload: Uint8Array) => void;
  onClose: () => void;
  resolve: (ws: RawWs) => void;
  reject: (e: Error) => void;
  ws: RawWs | null;
};

const encoder = new TextEncoder();
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + n); // 4: a zero masking key, so the payload goes as is
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out[2] = n >> 8;
    out[3] = n & 255;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head + 4);
  return out;
}

function write(sock: Socket<State>, bytes: Uint8Array) {
  const st = sock.data;
  if (st.out.length) return void st.out.push(bytes);
  const n = sock.write(bytes);
  if (n < bytes.length) st.out.push(bytes.subarray(Math.max(n, 0)));
}

function parse(sock: Socket<State>, st: State) {
  let b = st.buf!;
  let i = 0;
  while (b.length - i >= 2) {
    const op = b[i]! & 15;
    let len = b[i + 1]! & 127;
    let p = i + 2;
    if (len === 126) {
      if (b.length - i < 4) break;
      len = (b[i + 2]! << 8) | b[i + 3]!;
      p = i + 4;
    } else if (len === 127) {
      if (b.length - i < 10) break;
      len = Number(new DataView(b.buffer, b.byteOffset + i + 2, 8).getBigUint64(0));
      p = i + 10;
    }
    if (b.length - p < len) break;
    const payload = b.subarray(p, p + len);
    i = p + len;
    if (op === 1 || op === 2 || op === 0) st.onFrame(payload);
    else if (op === 9) write(sock, frame(10, payload.slice()));
    else if (op === 8) sock.end();
  }
  st.buf = i === b.length ? null : b.slice(i);
}

export function connectRaw(
  port: number,
  path: string,
  onFrame: (payload: Uint8Array) => void,
  onClose = () => {},
): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const st: State = { handshake: false, buf: null, out: [], onFrame, onClose, resolve, reject, ws: null };
    Bun.connect<State>({
      hostname: "127.0.0.1",
      port,
      data: st,
      socket: {
        open(sock) {
          sock.setNoDelay(true);
          sock.write(
            `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          );
        },
        data(sock, chunk) {
          const st = sock.data;
          st.buf = st.buf ? Buffer.concat([st.buf, chunk]) : chunk;
          if (!st.handshake) {
            const end = Buffer.from(st.buf.buffer, st.buf.byteOffset, st.buf.length).indexOf("\r\n\r\n");
            if (end < 0) return;
            const head = new TextDecoder().decode(st.buf.subarray(0, end));
            if (!head.startsWith("HTTP/1.1 101")) {
              sock.end();
              return st.reject(
                new Error(
                  `upgrade refused: ${head.split("\r\n")[0]} ${new TextDecoder().decode(st.buf.subarray(end + 4))}`,
                ),
              );
            }
            st.handshake = true;
            st.buf = st.buf.length > end + 4 ? st.buf.subarray(end + 4) : null;
            let closed = false;
            st.ws = {
              send: (text) => write(sock, frame(1, encoder.encode(text))),
              close: () => {
                if (!closed) sock.end();
                closed = true;
              },
              get closed() {
                return closed;
              },
            };
            st.resolve(st.ws);
            if (!st.buf) return;
          }
          parse(sock, st);
        },
        drain(sock) {
          const st = sock.data;
          while (st.out.length) {
            const bytes = st.out[0]!;
            const n = sock.write(bytes);
            if (n < bytes.length) {
              st.out[0] = bytes.subarray(Math.max(n, 0));
              return;
            }
            st.out.shift();
          }
        },
        close(sock) {
          if (!sock.data.handshake) sock.data.reject(new Error("closed before upgrade"));
          sock.data.onClose();
        },
        error(sock, e) {
          if (!sock.data.handshake) sock.data.reject(e);
        },
        connectError(sock, e) {
          sock.data.reject(e);
        },
      },
    }).catch(reject);
  });
}

// Bun's built-in client, for comparison only (`bun run bench --client=bun`): text frames arrive as strings.
export function connectBun(port: number, path: string, onFrame: (payload: string) => void): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    let closed = false;
    ws.onmessage = (e) => onFrame(e.data as string);
    ws.onopen = () =>
      resolve({
        send: (text) => ws.send(text),
        close: () => {
          closed = true;
          ws.close();
        },
        get closed() {
          return closed;
        },
      });
    ws.onerror = () => reject(new Error(`connecting ${path} failed`));
  });
}
