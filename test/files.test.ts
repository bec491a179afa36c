// Files: upload (POST /v1/rooms/:id/files, the body streamed to the storage) and download by the signed URL or
// the session: sizes from image headers, limits (413 without reading the rest, quota, rate), name rules, Range,
// ETag, the safety headers for each type class, and 404 for expired, tampered and stale URLs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { filesDir } from "../lib/files/open.ts";
import { type Account, call, createRoom, expectError, registerAll } from "./support/http.ts";
import { download, pngHeader, upload } from "./support/files.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { storages, type TestStorage } from "./support/s3.ts";

for (const storage of await storages()) {
  describe.if(storage.enabled)(`files on ${storage.name}`, () => {
    let s: TestServer;
    let stored: Awaited<ReturnType<TestStorage["start"]>>;
    let ann: Account, ben: Account, cy: Account;
    let room: number;
    beforeAll(async () => {
      stored = await storage.start();
      s = await startServer({
        config: { maxFileSize: 1024 * 1024, fileQuota: 3 * 1024 * 1024, ...stored.config },
        env: stored.env,
      });
      [ann, ben, cy] = await registerAll(s.url, ["ann", "ben", "cy"]);
      room = await createRoom(s.url, ann, [ben]);
    });
    afterAll(async () => {
      await s.stop();
      await stored.stop();
    });

    // Files in the disk storage's folder (temporary ones included); 0 on S3.
    const filesOnDisk = () =>
      storage.name !== "disk"
        ? 0
        : readdirSync(filesDir({ db: s.db, filesDir: "" }), { recursive: true, withFileTypes: true }).filter((e) =>
            e.isFile(),
          ).length;

    describe("upload", () => {
      test("a PNG is stored with its size from the header and a signed url that serves its bytes", async () => {
        const bytes = pngHeader(640, 480);
        const r = await upload(s.url, ann, room, bytes, { name: "shot.png", type: "image/png" });
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({
          name: "shot.png",
          type: "image/png",
          size: bytes.length,
          width: 640,
          height: 480,
        });
        expect(r.body.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
        const got = await download(s.url, r.body.url);
        expect(got.status).toBe(200);
        expect(got.bytes).toEqual(bytes);
        expect(got.headers.get("content-type")).toBe("image/png");
        expect(got.headers.get("content-disposition")).toStartWith("inline;");
        expect(got.headers.get("x-content-type-options")).toBe("nosniff");
        expect(got.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
        expect(got.headers.get("cache-control")).toStartWith("private");
        expect(got.headers.get("etag")).toBe(`"${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}"`);
      });

      test("another type without a size; no Content-Type is application/octet-stream", async () => {
        const r = await upload(s.url, ann, room, "hello", { name: "a.txt" });
        expect(r.status).toBe(200);
        expect(r.body).toEqual({
          id: r.body.id,
          name: "a.txt",
          type: "application/octet-stream",
          size: 5,
          url: r.body.url,
        });
      });

      test("over --max-file-size: 413 payload_too_large, by Content-Length or while streaming", async () => {
        const before = filesOnDisk();
        expectError(await upload(s.url, ann, room, new Uint8Array(1024 * 1024 + 1)), 413, "payload_too_large");
        const chunks = new ReadableStream({
          pull(c) {
            c.enqueue(new Uint8Array(256 * 1024));
          },
        });
        expectError(await upload(s.url, ann, room, chunks), 413, "payload_too_large");
        expect(filesOnDisk()).toBe(before); // no partial file left behind
      });

      test("a name with nothing left after sanitizing is invalid_file_name; separators and bidi characters go", async () => {
        expectError(await upload(s.url, ann, room, "x", { name: "/\u202e\u0000" }), 422, "invalid_file_name");
        expectError(await upload(s.url, ann, room, "x", { name: ".." }), 422, "invalid_file_name");
        const r = await upload(s.url, ann, room, "x", { name: "../evil\u202efdp.exe" });
        expect(r.body.name).toBe("..evilfdp.exe");
      });

      test("members only: room_not_found; no session: unauthorized", async () => {
        expectError(await upload(s.url, cy, room, "x"), 422, "room_not_found");
        expectError(await upload(s.url, { ...cy, session: "nope" }, room, "x"), 401, "unauthorized");
        const foreign = { origin: "https://evil.example" };
        expectError(await upload(s.url, ann, room, "x", { headers: foreign }), 403, "forbidden_origin");
      });
    });

    describe("quota", () => {
      test("past --file-quota: 422 quota_exceeded, by Content-Length or once streamed (its bytes not kept)", async () => {
        const [dee, eve] = await registerAll(s.url, ["dee", "eve"]);
        const r = await createRoom(s.url, dee, [eve]);
        const mib = new Uint8Array(1024 * 1024 - 1);
        for (let i = 0; i < 3; i++) expect((await upload(s.url, dee, r, mib)).status).toBe(200);
        expectError(await upload(s.url, dee, r, new Uint8Array(16)), 422, "quota_exceeded");
        const streamed = new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array(16));
            c.close();
          },
        });
        expectError(await upload(s.url, dee, r, streamed), 422, "quota_exceeded");
        expect((await upload(s.url, eve, r, new Uint8Array(16))).status).toBe(200); // per user
      });
    });

    describe("download", () => {
      let file: any;
      const bytes = new TextEncoder().encode("0123456789");
      beforeAll(async () => {
        file = (await upload(s.url, ann, room, bytes, { name: "digits.html", type: "text/html" })).body;
      });

      test("HTML is an attachment, with the name in both forms", async () => {
        const got = await download(s.url, file.url);
        expect(got.headers.get("content-disposition")).toBe(
          `attachment; filename="digits.html"; filename*=UTF-8''digits.html`,
        );
      });

      const INLINE = ["image/jpeg", "image/gif", "image/webp", "video/mp4", "video/webm", "audio/mpeg", "audio/ogg"];
      const ATTACHED = ["image/svg+xml", "text/html", "text/plain", "application/javascript", "application/x-foo"];
      test.each(
        [...INLINE, "application/pdf"].map((t) => [t, "inline"]).concat(ATTACHED.map((t) => [t, "attachment"])),
      )("%s is served %s, with nosniff and the sandbox CSP", async (type, kind) => {
        const f = (await upload(s.url, ann, room, "data", { name: "ünï.bin", type })).body;
        const got = await download(s.url, f.url);
        expect(got.headers.get("content-type")).toBe(type);
        expect(got.headers.get("content-disposition")).toBe(
          `${kind}; filename="_n_.bin"; filename*=UTF-8''%C3%BCn%C3%AF.bin`,
        );
        expect(got.headers.get("x-content-type-options")).toBe("nosniff");
        expect(got.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
      });

      test("Range: 206 with Content-Range; 416 outside the file; ETag: 304", async () => {
        const part = await download(s.url, file.url, { range: "bytes=2-4" });
        expect(part.status).toBe(206);
        expect(new TextDecoder().decode(part.bytes)).toBe("234");
        expect(part.headers.get("content-range")).toBe("bytes 2-4/10");
        const tail = await download(s.url, file.url, { range: "bytes=-3" });
        expect(new TextDecoder().decode(tail.bytes)).toBe("789");
        const outside = await download(s.url, file.url, { range: "bytes=10-" });
        expect(outside.status).toBe(416);
        expect(outside.headers.get("content-range")).toBe("bytes */10");
        const etag = (await download(s.url, file.url)).headers.get("etag")!;
        expect((await download(s.url, file.url, { "if-none-match": etag })).status).toBe(304);
      });

      test("tampered, expired or unsigned without a session: 404 file_not_found", async () => {
        const u = new URL(file.url, s.url);
        const sig = u.searchParams.get("sig")!;
        u.searchParams.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
        expect((await download(s.url, u.pathname + u.search)).status).toBe(404);
        expect((await download(s.url, `/v1/files/${file.id}/x`)).status).toBe(404);
        expect((await download(s.url, `/v1/files/nope/x?expires=1&sig=x`)).status).toBe(404);
        s.clock.advance(2 * 3600_000);
        try {
          expect((await download(s.url, file.url)).status).toBe(404);
        } finally {
          s.clock.advance(-2 * 3600_000);
        }
      });

      test("with a member's session instead of a signature; not a member's", async () => {
        const path = `/v1/files/${file.id}/digits.html`;
        const got = await download(s.url, path, { "x-session-id": ben.session });
        expect(got.status).toBe(200);
        expect(got.headers.get("cache-control")).toBe("private, no-cache");
        expect((await download(s.url, path, { "x-session-id": cy.session })).status).toBe(404);
        expectError(await call(s.url, "GET", path, { session: "x".repeat(43) }), 401, "unauthorized");
      });
    });
  });
}

describe("the upload rate", () => {
  test("past --uploads-per-minute: 429 rate_limited with Retry-After", async () => {
    const limited = await startServer({ config: { limits: true, uploadsPerMinute: 2 } });
    try {
      const [fay, gus] = await registerAll(limited.url, ["fay", "gus"]);
      const r = await createRoom(limited.url, fay, [gus]);
      for (let i = 0; i < 2; i++) expect((await upload(limited.url, fay, r, "x")).status).toBe(200);
      const refused = await upload(limited.url, fay, r, "x");
      expectError(refused, 429, "rate_limited");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });
});
