// Web Push subscriptions on SQLite (schema.sql, version 10), on the serving connection.
import type { Database } from "bun:sqlite";
import type { PushSubscriptionRow, Store } from "../store.ts";

type Push = Pick<Store, "savePushSubscription" | "deletePushSubscription">;

export function createPush(db: Database): Push {
  const upsert = db.query<never, [string, string, string, Uint8Array, number, number]>(
    `INSERT INTO push_subscriptions (endpoint, p256dh, auth, token_hash, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
       token_hash = excluded.token_hash, user_id = excluded.user_id, created_at = excluded.created_at`,
  );
  const trim = db.query<never, [number, number]>(
    `DELETE FROM push_subscriptions WHERE endpoint IN (SELECT endpoint FROM push_subscriptions WHERE user_id = ?1
       ORDER BY created_at DESC, endpoint DESC LIMIT -1 OFFSET ?2)`,
  );
  const remove = db.query<never, [number, string]>("DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ?");
  const save = db.transaction((s: PushSubscriptionRow, max: number) => {
    upsert.run(s.endpoint, s.p256dh, s.auth, s.tokenHash, s.userId, s.createdAt);
    trim.run(s.userId, max);
  });
  return {
    async savePushSubscription(sub, max) {
      save.immediate(sub, max);
    },
    async deletePushSubscription(userId, endpoint) {
      remove.run(userId, endpoint);
    },
  };
}
