// The push subscriptions the server has registered, read from its database: nothing in the API lists them.
// endpoint -> the user and the session (its token hash, hex) it belongs to, and its public key.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import type { TestServer } from "./server.ts";

export type PushRow = { user: number; session: string; p256dh: string };

// query: parameters as ?1, ?2 (PostgreSQL gets $1, $2).
async function readRows<T>(t: TestServer, query: string, ...params: (string | number)[]): Promise<T[]> {
  if (t.databaseUrl) {
    const sql = new SQL({ url: t.databaseUrl, max: 1 });
    const rows = await sql.unsafe(query.replaceAll("?", "$"), params);
    await sql.close();
    return [...rows];
  }
  const db = new Database(t.db, { readonly: true });
  const rows = db.query(query).all(...params) as T[];
  db.close();
  return rows;
}

export async function pushRows(t: TestServer): Promise<Record<string, PushRow>> {
  type Row = { endpoint: string; user_id: number | string; token_hash: Uint8Array; p256dh: string };
  const rows = await readRows<Row>(t, "SELECT endpoint, user_id, token_hash, p256dh FROM push_subscriptions");
  const entries = rows.map((r) => [
    r.endpoint,
    { user: Number(r.user_id), session: Buffer.from(r.token_hash).toString("hex"), p256dh: r.p256dh },
  ]);
  return Object.fromEntries(entries);
}

// The push queue's rows of one endpoint: the room, the newest message to announce, the last one sent (0: none),
// when it may go (ms, the server's clock).
export async function queueRows(t: TestServer, endpoint: string) {
  type Row = {
    room_id: number | string;
    message_id: number | string;
    sent_id: number | string;
    due_at: number | string;
  };
  const query = "SELECT room_id, message_id, sent_id, due_at FROM push_queue WHERE endpoint = ?1 ORDER BY room_id";
  const rows = await readRows<Row>(t, query, endpoint);
  return rows.map((r) => ({
    room: Number(r.room_id),
    message: Number(r.message_id),
    sent: Number(r.sent_id),
    due: Number(r.due_at),
  }));
}

export const sessionHash = (session: string) => new Bun.CryptoHasher("sha256").update(session).digest("hex");

// A browser subscription's keys: a real P-256 public key and a 16-byte auth secret, base64url.
export async function subscriptionKeys() {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const p256dh = Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url");
  const auth = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  return { p256dh, auth };
}
