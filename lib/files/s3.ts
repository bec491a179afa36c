// Files in an S3 bucket through Bun's own S3Client (--files-s3 s3://bucket/prefix), for several instances:
// every instance reads and writes the same bucket. Credentials, region and endpoint come from the S3_* /
// AWS_* variables (open.ts reads them). Uploads stream as a multipart upload, a part at a time.
import { S3Client } from "bun";
import type { Range, Storage } from "./storage.ts";

export type S3Options = {
  bucket: string;
  prefix: string; // "" or "a/b": keys are prefix/key
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region?: string;
  endpoint?: string;
};

const PART = 5 * 1024 * 1024; // S3's smallest multipart part; what is held in memory per upload

export function s3Storage(o: S3Options): Storage {
  const { prefix, ...client } = o;
  const s3 = new S3Client(client);
  const full = (key: string) => (prefix ? `${prefix}/${key}` : key);
  return {
    where: `s3://${o.bucket}${prefix ? `/${prefix}` : ""}`,
    async put(key, chunks) {
      const writer = s3.file(full(key)).writer({ partSize: PART, retry: 3 });
      let pending = 0;
      try {
        for await (const chunk of chunks) {
          writer.write(chunk);
          pending += chunk.byteLength;
          if (pending >= PART) {
            await writer.flush(); // hands the buffered part over before more is read
            pending = 0;
          }
        }
        await writer.end();
      } catch (e) {
        // An unfinished multipart upload is aborted and whatever was written removed, in the background: the
        // caller answers now (a 413 must not wait for S3 while the client goes on sending).
        void abandon(e)
          .then(() => s3.delete(full(key)))
          .catch(() => {});
        throw e;
      }
      async function abandon(e: unknown) {
        await writer.end(e instanceof Error ? e : new Error(String(e)));
      }
    },
    async get(key, range?: Range) {
      const file = s3.file(full(key));
      const reader = (range ? file.slice(range.start, range.end) : file).stream().getReader();
      // S3 answers at the first read: a missing key is null here (the client's 404), not a 200 cut short.
      let first: Awaited<ReturnType<typeof reader.read>>;
      try {
        first = await reader.read();
      } catch (e) {
        if ((e as { code?: unknown }).code === "NoSuchKey") return null;
        throw e;
      }
      return new ReadableStream<Uint8Array>({
        start(c) {
          if (first.done) c.close();
          else c.enqueue(first.value);
        },
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) c.close();
          else c.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
    },
    async delete(key) {
      await s3.delete(full(key));
    },
    async exists(key) {
      return s3.exists(full(key));
    },
  };
}

// s3://bucket/prefix -> bucket and prefix (no slashes at either end), or undefined.
export function parseS3Url(raw: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(raw);
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: (m[2] ?? "").replace(/^\/+|\/+$/g, "") };
}
