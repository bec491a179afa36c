// The limit: a bare Bun.serve doing the least a chat server must do. Each WebSocket joins
// room:<id>; each received frame is parsed and published to the room as a JSON string shaped
// like a stored message. No auth, no database. GET /json answers a small JSON body.
// Files (issue 17): POST /upload streams the body to a temp file, fsyncs and renames it (what a durable disk
// store must do at least); GET /download/:id serves it from the file. No hashing, no image header, no database row.
import { mkdtempSync, rmSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const port = Number(process.env.PORT ?? 0);
let nextId = 0;

type Data = { room: string; user: number };

const filesDir = mkdtempSync(join(tmpdir(), "echat-bare-files-"));
let nextFile = 0;
process.on("SIGTERM", () => {
  rmSync(filesDir, { recursive: true, force: true });
  process.exit(0);
});

// As the disk storage writes (lib/files/disk.ts): a temp file, fsynced, renamed; the answer after that.
async function upload(req: Request) {
  const id = ++nextFile;
  const tmp = join(filesDir, `${id}.part`);
  const file = await open(tmp, "wx", 0o600);
  let size = 0;
  for await (const chunk of req.body!) {
    size += chunk.byteLength;
    await file.write(chunk);
  }
  await file.sync();
  await file.close();
  await rename(tmp, join(filesDir, String(id)));
  return Response.json({ id: String(id), size });
}

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  routes: {
    "/json": () => Response.json({ id: 1, login: "alice" }),
    "/healthz": () => Response.json({ ok: true }),
    "/upload": { POST: upload },
    "/download/:id": (req) => new Response(Bun.file(join(filesDir, req.params.id))),
    "/v1/rooms/:id/chat": (req, s: Bun.Server<Data>) => {
      const user = Number(new URL(req.url).searchParams.get("user") ?? 0);
      if (s.upgrade(req, { data: { room: `room:${req.params.id}`, user } })) return undefined;
      return new Response("upgrade required", { status: 426 });
    },
  },
  websocket: {
    data: {} as Data,
    maxPayloadLength: 64 * 1024,
    open(ws) {
      ws.subscribe(ws.data.room);
    },
    message(ws, raw) {
      const frame = JSON.parse(String(raw));
      const body: Record<string, unknown> = {
        id: ++nextId,
        text: frame.text,
        user_id: ws.data.user,
        room_id: ws.data.room,
        created_at: "2026-01-01T00:00:00Z",
      };
      if (frame.client_id !== undefined) body.client_id = frame.client_id;
      server.publish(ws.data.room, JSON.stringify(body), false);
    },
  },
});

console.log(`listening ${server.port}`);
