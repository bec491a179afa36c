// A file's bytes as a download: ETag (its SHA-256) and If-None-Match (304), one byte range (206, or 416 when
// outside the file), and the headers that keep a hostile file harmless: nosniff, a sandboxing CSP, and
// Content-Disposition inline only for images, audio, video and PDF (lib/files/names.ts).
import { ApiError } from "../errors.ts";
import { contentDisposition } from "../files/names.ts";
import type { Range, Storage } from "../files/storage.ts";
import type { Logger } from "../log.ts";
import type { StoredFile } from "../store/store.ts";

// A row whose bytes the storage no longer holds (a folder lost or not shared between instances, bytes deleted
// by hand) is file_not_found to the client, and a warning naming the key to the admin.
export async function serveFile(req: Request, file: StoredFile, storage: Storage, signed: boolean, log: Logger) {
  const etag = `"${file.sha256}"`;
  const headers: Record<string, string> = {
    etag,
    // Signed URLs change every 10 minutes (signing.ts); the session GET revalidates each time.
    "cache-control": signed ? "private, max-age=600" : "private, no-cache",
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'",
    "content-disposition": contentDisposition(file.type, file.name),
    "accept-ranges": "bytes",
  };
  if (matches(req.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  const range = byteRange(req.headers.get("range"), file.size);
  if (range === "unsatisfiable") {
    throw new ApiError("range_not_satisfiable", undefined, { "content-range": `bytes */${file.size}` });
  }
  const body = await storage.get(file.storageKey, range ?? undefined);
  if (!body) {
    log.warn("a file's bytes are missing from the storage", { key: file.storageKey, files: storage.where });
    throw new ApiError("file_not_found");
  }
  headers["content-type"] = file.type;
  if (!range) {
    headers["content-length"] = String(file.size);
    return new Response(body, { status: 200, headers });
  }
  headers["content-range"] = `bytes ${range.start}-${range.end - 1}/${file.size}`;
  headers["content-length"] = String(range.end - range.start);
  return new Response(body, { status: 206, headers });
}

function matches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.trim() === "*" || header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

// One range of "bytes=a-b", "bytes=a-" or "bytes=-n" (RFC 9110); null: the whole file (no Range, another
// unit, several ranges or a malformed one, which a server may ignore); "unsatisfiable": it starts past the end.
export function byteRange(header: string | null, size: number): Range | null | "unsatisfiable" {
  const m = header === null ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size };
  }
  const start = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  if (last < start) return null;
  return { start, end: last + 1 };
}
