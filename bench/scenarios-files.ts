// Files (issue 17): upload and download throughput of a 10 MiB file, one request at a time, against the bare
// baseline's /upload and /download/:id; and an uploader of 25 MiB files to run beside scenario 4's chat load.
import type { Session } from "./load.ts";
import { cpuMicros } from "./procs.ts";
import type { World } from "./setup.ts";

export const MIB = 2 ** 20;

// One side of the comparison: upload returns the URL its bytes are downloaded from.
export type FileSide = { upload: (body: Uint8Array<ArrayBuffer>, n: number) => Promise<string> };

// Random bytes (not compressible, not an image): the server stores them as application/octet-stream.
export function fileBody(bytes: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(new ArrayBuffer(bytes));
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(bytes, i + 65536)));
  return b;
}

async function ok(r: Response, what: string) {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${await r.text()}`);
  return r;
}

export function bareFiles(port: number): FileSide {
  const base = `http://127.0.0.1:${port}`;
  return {
    async upload(body) {
      const r = await ok(await fetch(`${base}/upload`, { method: "POST", body }), "bare upload");
      return `${base}/download/${((await r.json()) as { id: string }).id}`;
    },
  };
}

// Upload n goes to a fan room by one of its members, round robin over the 100 chat users, so that no
// user meets the per-user upload rate or the quota. Downloads use the signed URL, as an <img> would.
export function echatFiles(port: number, world: World): FileSide {
  const base = `http://127.0.0.1:${port}`;
  return {
    async upload(body, n) {
      const user = n % 100;
      const room = world.fanRooms[Math.floor(user / 10)]!;
      const r = await ok(
        await fetch(`${base}/v1/rooms/${room}/files?name=bench-${n}.bin`, {
          method: "POST",
          headers: { "x-session-id": world.tokens[user]!, "content-type": "application/octet-stream" },
          body,
        }),
        "echat upload",
      );
      return new URL(((await r.json()) as { url: string }).url, base).href;
    },
  };
}

async function download(url: string): Promise<number> {
  const r = await ok(await fetch(url), "download");
  let n = 0;
  for await (const chunk of r.body!) n += chunk.byteLength;
  return n;
}

// Back to back for `secs` after one unmeasured request: MiB/s, ms per file, server CPU ms per MiB.
async function timed(pid: number, secs: number, once: (n: number) => Promise<number>) {
  let n = 0;
  await once(n++);
  const [cpu0, t0] = [await cpuMicros(pid), performance.now()];
  const end = t0 + secs * 1000;
  const ms: number[] = [];
  let bytes = 0;
  while (performance.now() < end) {
    const t = performance.now();
    bytes += await once(n++);
    ms.push(performance.now() - t);
  }
  const [cpu1, t1] = [await cpuMicros(pid), performance.now()];
  ms.sort((a, b) => a - b);
  const mib = bytes / MIB;
  return {
    mib_per_s: mib / ((t1 - t0) / 1000),
    ms_per_file_p50: ms[ms.length >> 1]!,
    ms_per_file_max: ms[ms.length - 1]!,
    server_cpu_ms_per_mib: (cpu1 - cpu0) / 1000 / mib,
  };
}

export async function uploadThroughput(
  side: FileSide,
  pid: number,
  secs: number,
  body: Uint8Array<ArrayBuffer>,
  from: number,
) {
  return timed(pid, secs, async (n) => (await side.upload(body, from + n), body.byteLength));
}

export async function downloadThroughput(
  side: FileSide,
  pid: number,
  secs: number,
  body: Uint8Array<ArrayBuffer>,
  from: number,
) {
  const url = await side.upload(body, from);
  return timed(pid, secs, async () => {
    const n = await download(url);
    if (n !== body.byteLength) throw new Error(`download: ${n} bytes, expected ${body.byteLength}`);
    return n;
  });
}

// A chat session with uploads of `body` running back to back (one at a time) from its start to its stop.
export function withUploads(session: Session, side: FileSide, body: Uint8Array<ArrayBuffer>, from: number): Session {
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  let uploads = 0;
  return {
    counters: session.counters,
    start() {
      running = true;
      session.start();
      loop = (async () => {
        while (running) await side.upload(body, from + uploads++);
      })();
    },
    async stop() {
      running = false;
      await loop;
      await session.stop();
    },
  };
}
