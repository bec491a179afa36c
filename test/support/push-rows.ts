// The push subscriptions the server has registered, read from its database: nothing in the API lists them.
// endpoint -> the user and the session (its token hash, hex) it belongs to, and its public key.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import type { TestServer } from "./server.ts";

export type PushRow = { user: number; session: string; p256dh: string };

export async function pushRows(t: TestServer): Promise<Record<string, PushRow>> {
  const query = "SELECT endpoint, user_id, token_hash, p256dh FROM push_subscriptions";
  let rows: { endpoint: string; user_id: number | string; token_hash: Uint8Array; p256dh: string }[];
  if (t.databaseUrl) {
    const sql = new SQL({ url: t.databaseUrl, max: 1 });
    rows = await sql.unsafe(query);
    await sql.close();
  } else {
    const db = new Database(t.db, { readonly: true });
    rows = db.query(query).all() as typeof rows;
    db.close();
  }
  const entries = rows.map((r) => [
    r.endpoint,
    { user: Number(r.user_id), session: Buffer.from(r.token_hash).toString("hex"), p256dh: r.p256dh },
  ]);
  return Object.fromEntries(entries);
}

export const sessionHash = (session: string) => new Bun.CryptoHasher("sha256").update(session).digest("hex");

// A browser subscription's keys: a real P-256 public key and a 16-byte auth secret, base64url.
export async function subscriptionKeys() {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const p256dh = Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url");
  const auth = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  return { p256dh, auth };
}
