// Files: upload (POST /v1/rooms/:id/files, the body streamed to the storage) and download (GET
// /v1/files/:id/:name, by signed URL or session). lib/files holds the storage, signing and naming rules.
import { requireUser, sessionToken, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import { HEADER_BYTES, imageSize } from "../files/image-size.ts";
import { fileType, sanitizeFileName } from "../files/names.ts";
import { newFileId, type Signer } from "../files/signing.ts";
import { type Storage, storageKey } from "../files/storage.ts";
import type { Limits } from "../limits/limits.ts";
import type { Logger } from "../log.ts";
import { roomId } from "../validate.ts";
import { serveFile } from "./file-download.ts";
import { json, type Req } from "./respond.ts";
import { fileJson } from "./shapes.ts";
import type { StoredFile } from "../store/store.ts";

import type { Config } from "../config.ts";

export type FileDeps = Omit<SessionDeps, "config"> & {
  config: SessionDeps["config"] & Pick<Config, "maxFileSize" | "fileQuota">;
  storage: Storage;
  signer: Signer;
  limits: Limits;
  log: Logger;
};

export function fileHandlers(deps: FileDeps) {
  const { store, config, now, storage, signer, limits, log } = deps;
  // Content-Length, when given, against the size limit (before reading anything) and the quota.
  async function checkDeclaredSize(req: Request, userId: number) {
    const declared = req.headers.has("content-length") ? Number(req.headers.get("content-length")) : 0;
    if (declared > config.maxFileSize) throw tooLarge(config.maxFileSize);
    if ((await store.fileBytesUsed(userId)) + declared > config.fileQuota) throw new ApiError("quota_exceeded");
  }

  // The body streamed to the storage, then the row (the quota checked again as it is inserted); the bytes are
  // removed when the row is not made.
  async function receive(req: Request, file: Pick<StoredFile, "publicId" | "roomId" | "userId" | "name">) {
    const key = storageKey(file.publicId);
    const body = measure(req.body, config.maxFileSize);
    await storage.put(key, body.chunks());
    const dimensions = imageSize(body.header());
    const row = await store
      .createFile(
        {
          ...file,
          type: fileType(req.headers.get("content-type")),
          size: body.size(),
          width: dimensions?.width ?? null,
          height: dimensions?.height ?? null,
          sha256: body.sha256(),
          storageKey: key,
          createdAt: now(),
        },
        config.fileQuota,
      )
      .catch(async (e) => {
        await storage.delete(key);
        throw e;
      });
    if (row !== "quota_exceeded") return row;
    await storage.delete(key);
    throw new ApiError("quota_exceeded");
  }

  return {
    async handleUpload(req: Req) {
      const caller = await requireUser(deps, req);
      const room = roomId(req.params.id!);
      const name = sanitizeFileName(new URL(req.url).searchParams.get("name") ?? "");
      if (name === "") throw new ApiError("invalid_file_name");
      limits.upload(caller.userId);
      if (!(await store.isMember(room, caller.userId))) throw new ApiError("room_not_found");
      await checkDeclaredSize(req, caller.userId);
      const publicId = newFileId();
      const row = await receive(req, { publicId, roomId: room, userId: caller.userId, name });
      const found = await store.findFile(publicId);
      return json(fileJson(row, signer.url(row, found?.fileEpoch ?? 0)));
    },

    // Signed (expires and sig in the query) or by session; anything that does not check out is 404.
    async handleDownload(req: Req) {
      const url = new URL(req.url);
      const file = await store.findFile(req.params.id!);
      const signed = url.searchParams.has("sig");
      if (signed) {
        const ok =
          file &&
          signer.verify(file.publicId, file.fileEpoch, url.searchParams.get("expires"), url.searchParams.get("sig"));
        if (!ok) throw new ApiError("file_not_found");
      } else {
        // The session from a header only (never the query: a URL with a session in it would leak it).
        if (sessionToken(req) === null) throw new ApiError("file_not_found");
        const caller = await requireUser(deps, req);
        if (!file || !(await store.isMember(file.roomId, caller.userId))) throw new ApiError("file_not_found");
      }
      return serveFile(req, file!, storage, signed, log);
    },
  };
}

const tooLarge = (max: number) => new ApiError("payload_too_large", `A file may have at most ${max} bytes`);

// The request body as it streams to the storage: counted (past max: payload_too_large, the rest unread),
// hashed, and its first HEADER_BYTES kept for the image size.
function measure(stream: ReadableStream<Uint8Array> | null, max: number) {
  const hash = new Bun.CryptoHasher("sha256");
  const header = new Uint8Array(HEADER_BYTES);
  let size = 0;
  return {
    async *chunks() {
      if (!stream) return;
      for await (const chunk of stream) {
        if (size + chunk.byteLength > max) throw tooLarge(max);
        if (size < HEADER_BYTES) header.set(chunk.subarray(0, HEADER_BYTES - size), size);
        size += chunk.byteLength;
        hash.update(chunk);
        yield chunk;
      }
    },
    size: () => size,
    sha256: () => hash.digest("hex"),
    header: () => header.subarray(0, Math.min(size, HEADER_BYTES)),
  };
}
