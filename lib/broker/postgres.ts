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
    maxPayload: 7900,
    async publish(payload) {
      await sql.notify(CHANNEL, payload);
    },
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
