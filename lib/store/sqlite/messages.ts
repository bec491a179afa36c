// Messages on SQLite: written by the writer worker (group commit, writer.ts), read on this connection.
import type { Database } from "bun:sqlite";
import type { Config } from "../../config.ts";
import type { Message, Store } from "../store.ts";
import { MESSAGE } from "./columns.ts";
import { startMessageWriter } from "./writer.ts";

type Messages = Pick<Store, "createMessage" | "listMessages"> & { close(): Promise<void> };

export function createMessages(db: Database, config: Config): Messages {
  // Reads stop at the newest message handed back to the writer's callers: one committed by the
  // worker but not yet acked and published must not reach a resuming socket before its publish.
  const latest = db.query<Message, [number, number, number]>(
    `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id <= ? ORDER BY id DESC LIMIT ?`,
  );
  const before = db.query<Message, [number, number, number, number]>(
    `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id < ? AND id <= ? ORDER BY id DESC LIMIT ?`,
  );
  const after = db.query<Message, [number, number, number, number]>(
    `SELECT ${MESSAGE} FROM messages WHERE room_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
  );
  const newestMessage = db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM messages");
  const writer = startMessageWriter(config, newestMessage.get()!.id ?? 0);

  return {
    createMessage: writer.write,
    async listMessages(roomId, page) {
      const upTo = writer.visibleUpTo();
      if (page.after !== undefined) return after.all(roomId, page.after, upTo, page.limit);
      const rows =
        page.before !== undefined
          ? before.all(roomId, page.before, upTo, page.limit)
          : latest.all(roomId, upTo, page.limit);
      return rows.reverse();
    },
    close: writer.close,
  };
}
