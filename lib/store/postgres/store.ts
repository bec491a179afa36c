// PostgreSQL through Bun.SQL, for several instances sharing one database. Same behaviour as the
// SQLite store in everything the API shows. Each entity's queries live in its own module; this one
// opens the client, migrates, composes them and turns a lost connection into 503 unavailable.
import { SQL } from "bun";
import type { Config } from "../../config.ts";
import { ApiError } from "../../errors.ts";
import { guardStore } from "../guard.ts";
import type { SchemaUpgrade } from "../migrations.ts";
import type { OpenDatabase, PostgresHandle, Store } from "../store.ts";
import { createAccounts } from "./accounts.ts";
import { createMessageChanges } from "./message-changes.ts";
import { createFiles } from "./files.ts";
import { createMessages } from "./messages.ts";
import { migratePostgres } from "./migrations.ts";
import { createRetention } from "./retention.ts";
import { createRoomChanges } from "./room-changes.ts";
import { createRooms } from "./rooms.ts";
import { createSearch } from "./search.ts";
import { createPush } from "./push.ts";
import { createPushQueue } from "./push-queue.ts";
import { createSessions } from "./sessions.ts";
import { createUsers } from "./users.ts";

// A serving instance's connections carry this application_name (pg_stat_activity shows them; import and
// migrate refuse a database that has any). The CLI's are "echat".
const SERVING_APP = "echat serve";

// The store, and the client itself for what shares the database (broker transport, shared limits).
export async function openPostgres(
  config: Pick<Config, "databaseUrl">,
  { serving = false } = {},
): Promise<OpenDatabase & { pg: PostgresHandle }> {
  const sql = new SQL({
    url: config.databaseUrl,
    max: 10,
    connectionTimeout: 5,
    connection: { idle_session_timeout: 0, application_name: serving ? SERVING_APP : "echat" },
  });
  let upgrade: SchemaUpgrade | undefined;
  try {
    upgrade = await migratePostgres(sql);
  } catch (e) {
    await sql.close({ timeout: 0 });
    throw e;
  }
  const [{ id: deployment }] = await sql`SELECT id FROM deployment`;
  const messages = createMessages(sql, unavailable);
  const store: Store = {
    ...createUsers(sql),
    ...createAccounts(sql),
    ...createSessions(sql),
    ...createFiles(sql),
    ...createPush(sql),
    ...createPushQueue(sql),
    ...createRooms(sql),
    ...createRoomChanges(sql),
    ...createMessageChanges(sql),
    ...createRetention(sql),
    createMessage: messages.createMessage,
    listMessages: messages.listMessages,
    listFrames: messages.listFrames,
    listRoomsFrames: messages.listRoomsFrames,
    latestSeqs: messages.latestSeqs,
    ...createSearch(sql),
    async ping() {
      await sql`SELECT 1`;
    },
    async close() {
      await messages.drain();
      await sql.close({ timeout: 5 });
    },
  };
  return { store: guardStore(store, unavailable), pg: { sql, deployment }, upgrade };
}

// The connections serving instances hold on this database now: import and migrate refuse one that has any.
export async function servingConnections(sql: SQL): Promise<number> {
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = ${SERVING_APP}`;
  return n;
}
export const SERVED =
  'an echat server is serving this database (pg_stat_activity lists its connections as "echat serve"); stop every instance first';

// A lost or refused connection is the database being away, not a bug: 503 unavailable. Bun's pool
// opens new connections by itself once the server is back.
export function isConnectionError(e: unknown): boolean {
  const { code, errno } = (e ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code === "string" && /^ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT)/.test(code)) return true;
  return typeof errno === "string" && /^(08|57P)/.test(errno); // connection exception, admin/crash shutdown
}

function unavailable(e: unknown): unknown {
  return isConnectionError(e) ? new ApiError("unavailable") : e;
}
