// PostgreSQL transport for the shared broker, for deployments without Redis: LISTEN/NOTIFY on one
// channel, and the presence table. NOTIFY payloads are limited to 8000 bytes, so a long message
// travels as its id only and the receiver reads it from the database.
import type { Transport } from "./broker.ts";
import type { Logger } from "../log.ts";
import type { SQL } from "bun";

const CHANNEL = "echat_fanout";

export async function openPostgresTransport(sql: SQL, log: Logger): Promise<Transport> {
  let subscription: Awaited<ReturnType<typeof sql.listen>> | undefined;
  const split = (key: string) => ({
    user: Number(key.slice(0, key.indexOf("@"))),
    instance: key.slice(key.indexOf("@") + 1),
  });
  return {
    name: "PostgreSQL LISTEN/NOTIFY",
    connected: () => subscription !== undefined,
    maxPayload: 7900,
    publish: createNotifier(sql),
    async subscribe(onPayload, onReconnect) {
      let first = true;
      // Bun re-listens by itself after a lost connection and calls the third argument each time.
      subscription = await sql.listen(CHANNEL, onPayload, () => {
        if (first) return void (first = false);
        log.info("PostgreSQL listen connection is back: catching up from the database");
        onReconnect();
      });
    },
    presence: {
      async set(room, key, expiresAt) {
        const { user, instance } = split(key);
        await sql`INSERT INTO presence (room_id, user_id, instance, expires_at) VALUES (${room}, ${user}, ${instance}, ${expiresAt})
          ON CONFLICT (room_id, user_id, instance) DO UPDATE SET expires_at = EXCLUDED.expires_at`;
      },
      async remove(room, key) {
        const { user, instance } = split(key);
        await sql`DELETE FROM presence WHERE room_id = ${room} AND user_id = ${user} AND instance = ${instance}`;
      },
      async list(room, now) {
        await sql`DELETE FROM presence WHERE room_id = ${room} AND expires_at <= ${now}`;
        const rows = await sql`SELECT user_id, instance FROM presence WHERE room_id = ${room} ORDER BY expires_at`;
        return rows.map((r: { user_id: string; instance: string }) => `${r.user_id}@${r.instance}`);
      },
    },
    async close() {
      await subscription?.unlisten();
    },
  };
}

// NOTIFY on the store's pool, the payloads published in one turn in one statement (a message batch's
// deliveries are published together): one query per message would queue ahead of the store's reads
// (a stream's resume right after a burst waited behind 2,000 of them). Within one statement PostgreSQL
// delivers them in order and folds identical payloads into one; every payload that could repeat in a
// turn (typing, a read marker, a kick, a presence change) means the same thing twice.
const NOTIFY_BATCH = 1000;
function createNotifier(sql: SQL) {
  let pending: { payload: string; done: (e?: unknown) => void }[] = [];
  const flush = () => {
    const batch = pending.splice(0, NOTIFY_BATCH);
    if (pending.length > 0) queueMicrotask(flush);
    sql`SELECT pg_notify(${CHANNEL}, p) FROM unnest(${batch.map((b) => b.payload)}::text[]) AS p`.then(
      () => batch.forEach((b) => b.done()),
      (e) => batch.forEach((b) => b.done(e ?? new Error("notify failed"))),
    );
  };
  return (payload: string) =>
    new Promise<void>((resolve, reject) => {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push({ payload, done: (e) => (e === undefined ? resolve() : reject(e)) });
    });
}
