// The storage the config asks for: S3 with --files-s3, else a folder (--files-dir; default echat-files
// beside the database file).
import { dirname, join, resolve } from "node:path";
import type { Config } from "../config.ts";
import { diskStorage } from "./disk.ts";
import { parseS3Url, s3Storage } from "./s3.ts";
import type { Storage } from "./storage.ts";

type Env = Record<string, string | undefined>;

export function openStorage(config: Pick<Config, "db" | "filesDir" | "filesS3">, env: Env = process.env): Storage {
  if (config.filesS3) {
    const where = parseS3Url(config.filesS3);
    if (!where) throw new Error(`--files-s3 must be s3://bucket/prefix, not ${config.filesS3}`);
    // Bun's client reads S3_* (else AWS_*) once, when the process starts; read here, they may change before.
    const pick = (name: string) => env[`S3_${name}`] ?? env[`AWS_${name}`];
    return s3Storage({
      ...where,
      accessKeyId: pick("ACCESS_KEY_ID"),
      secretAccessKey: pick("SECRET_ACCESS_KEY"),
      sessionToken: pick("SESSION_TOKEN"),
      region: pick("REGION"),
      endpoint: pick("ENDPOINT"),
    });
  }
  return diskStorage(filesDir(config));
}

export function filesDir(config: Pick<Config, "db" | "filesDir">): string {
  return config.filesDir || join(dirname(resolve(config.db)), "echat-files");
}
