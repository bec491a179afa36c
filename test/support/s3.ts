// A real S3-compatible server for tests: s3rver (a devDependency) on 127.0.0.1 with an ephemeral port and a
// temporary folder, and the storages a files test runs on (disk always, S3 when s3rver loads).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "./tools.ts";

export type S3Server = { filesS3: string; env: Record<string, string>; stop: () => Promise<void> };

const BUCKET = "echat-test";

// s3rver's logger (winston -> logform) calls safe-stable-stringify 2's configure(); Bun 1.4.5 resolves
// logform's require to the hoisted safe-stable-stringify 1.1.1 (which has none) instead of logform's own
// nested 2.x copy, so every request failed with InternalError. Give 1.1.1 a configure() before s3rver loads.
function patchLogformStringify() {
  const sss = require("safe-stable-stringify");
  if (typeof sss.configure !== "function") {
    sss.configure = () => (value: unknown, replacer: any, space: any) => JSON.stringify(value, replacer, space);
  }
}

async function loadS3rver(): Promise<any | null> {
  try {
    patchLogformStringify();
    // @ts-expect-error: s3rver ships no types
    return (await import("s3rver")).default;
  } catch {
    return null;
  }
}

export async function startS3(): Promise<S3Server> {
  const S3rver = await loadS3rver();
  if (!S3rver) throw new Error("s3rver did not load");
  const directory = mkdtempSync(join(tmpdir(), "echat-s3-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    directory,
    silent: true,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  return {
    filesS3: `s3://${BUCKET}/files`,
    env: {
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
      S3_REGION: "us-east-1",
    },
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

// The storages a files test runs on: each start() gives the server options and a stop.
export type TestStorage = {
  name: string;
  enabled: boolean;
  start: () => Promise<{ config: { filesS3?: string }; env?: Record<string, string>; stop: () => Promise<void> }>;
};

export async function storages(): Promise<TestStorage[]> {
  const haveS3 = needs("s3rver (bun install)", (await loadS3rver()) !== null);
  return [
    { name: "disk", enabled: true, start: async () => ({ config: {}, stop: async () => {} }) },
    {
      name: "S3 (s3rver)",
      enabled: haveS3,
      start: async () => {
        const s3 = await startS3();
        return { config: { filesS3: s3.filesS3 }, env: s3.env, stop: s3.stop };
      },
    },
  ];
}
