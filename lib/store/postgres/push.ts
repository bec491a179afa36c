// Web Push subscriptions on PostgreSQL, as on SQLite (sqlite/push.ts).
import type { SQL } from "bun";
import type { Store } from "../store.ts";

type Push = Pick<Store, "savePushSubscription" | "deletePushSubscription">;

export function createPush(sql: SQL): Push {
  return {
    async savePushSubscription(s, max) {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO push_subscriptions (endpoint, p256dh, auth, token_hash, user_id, created_at)
          VALUES (${s.endpoint}, ${s.p256dh}, ${s.auth}, ${s.tokenHash}, ${s.userId}, ${s.createdAt})
          ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
            token_hash = excluded.token_hash, user_id = excluded.user_id, created_at = excluded.created_at`;
        await tx`DELETE FROM push_subscriptions WHERE endpoint IN (SELECT endpoint FROM push_subscriptions
          WHERE user_id = ${s.userId} ORDER BY created_at DESC, endpoint DESC OFFSET ${max})`;
      });
    },
    async deletePushSubscription(userId, endpoint) {
      await sql`DELETE FROM push_subscriptions WHERE user_id = ${userId} AND endpoint = ${endpoint}`;
    },
  };
}
