// Password hashing (argon2id) and verification in constant time, a bounded number at once.
import { argon2, timingSafeEqual } from "node:crypto";
import type { Config } from "../config.ts";

// Hashes run off the event loop, but each takes a whole core for ~100 ms: a burst of logins on a
// small machine would take every core from the sockets. So at most (cores - 1) hash at once, and the
// rest wait their turn; chat keeps a core (docs/performance.md, login scenario).
const HASH_SLOTS = Math.max(1, navigator.hardwareConcurrency - 1);
let hashing = 0;
const waiting: Array<() => void> = [];

async function inHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= HASH_SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashing++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next)
      next(); // the slot passes on directly
    else hashing--;
  }
}

export function hashPassword(config: Config, password: string): Promise<string> {
  // Async only: the sync variant would stall every socket for the whole hash.
  return inHashSlot(() =>
    Bun.password.hash(password, {
      algorithm: "argon2id",
      memoryCost: config.passwordMemoryKiB,
      timeCost: config.passwordTime,
    }),
  );
}

const PHC = /^\$(argon2id|argon2i|argon2d)\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

// Bun.password.verify (Zig's argon2 strVerify) compares the derived key with mem.eql, not in constant
// time, so the key is derived here with node:crypto's argon2 (off the main thread, like Bun's) and
// compared with timingSafeEqual.
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const m = PHC.exec(phc);
  if (!m) return false;
  const [, algorithm, memory, passes, parallelism, salt, hash] = m;
  const expected = Buffer.from(hash!, "base64");
  const derived = await inHashSlot(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        argon2(
          algorithm as "argon2id",
          {
            message: password,
            nonce: Buffer.from(salt!, "base64"),
            memory: Number(memory),
            passes: Number(passes),
            parallelism: Number(parallelism),
            tagLength: expected.length,
          },
          (e, key) => (e ? reject(e) : resolve(key)),
        ),
      ),
  );
  return timingSafeEqual(derived, expected);
}
