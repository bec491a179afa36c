// ECHAT_TEST_STORE=postgres runs every server on a fresh PostgreSQL database (made from
// ECHAT_TEST_DATABASE_URL, dropped at stop), so the same test files cover both stores.
import { SQL } from "bun";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "./tools.ts";

export const STORE = process.env.ECHAT_TEST_STORE === "postgres" ? "postgres" : "sqlite";
export const TEST_DATABASE_URL = process.env.ECHAT_TEST_DATABASE_URL ?? "";
export const TEST_REDIS_URL = process.env.ECHAT_TEST_REDIS_URL ?? "";

// A test that opens the SQLite file itself has nothing to open under PostgreSQL: it skips, saying why.
export function opensSqliteFile(what: string): boolean {
  if (STORE === "sqlite") return true;
  console.warn(`skipping under PostgreSQL: ${what} opens the SQLite file directly`);
  return false;
}

const databases = new Map<string, string>(); // test folder -> database URL
// Databases made by this test run and not dropped yet (a server started on a test's own folder keeps
// its database across stop and start): test/setup.ts drops them after the last file.
const undropped = new Set<string>();
export async function dropLeftoverDatabases() {
  for (const name of undropped) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  undropped.clear();
}

// An empty PostgreSQL database named for the test folder.
export async function freshDatabase(folder = mkdtempSync(join(tmpdir(), "echat-test-"))): Promise<string> {
  const known = databases.get(folder);
  if (known) return known;
  if (!TEST_DATABASE_URL) throw new Error("ECHAT_TEST_STORE=postgres needs ECHAT_TEST_DATABASE_URL");
  const name = `echat_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  undropped.add(name);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  databases.set(folder, url.href);
  return url.href;
}

export async function dropDatabase(databaseUrl: string) {
  const name = new URL(databaseUrl).pathname.slice(1);
  if (!/^echat_test_[0-9a-f]+$/.test(name)) return;
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  undropped.delete(name);
}

async function adminQuery(text: string) {
  const admin = new SQL({ url: TEST_DATABASE_URL, max: 1 });
  try {
    await admin.unsafe(text);
  } finally {
    await admin.close();
  }
}

// The two ways several instances share deliveries (Redis, PostgreSQL LISTEN/NOTIFY), each enabled when its
// services are at hand (needs(): a skip line locally, a failure in CI).
export function fanoutPaths() {
  const havePostgres = needs("postgresql", TEST_DATABASE_URL !== "");
  const haveRedis = needs("redis", TEST_REDIS_URL !== "");
  return [
    { name: "Redis", enabled: havePostgres && haveRedis, redisUrl: TEST_REDIS_URL },
    { name: "PostgreSQL LISTEN/NOTIFY", enabled: havePostgres, redisUrl: "" },
  ];
}
