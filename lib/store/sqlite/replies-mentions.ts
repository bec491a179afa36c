// Replies and mentions as the message writer stores them (writer.worker.ts), inside a batch's transaction:
// a reply's message must be a live message of the same room then, and a text with "@" mentions the room's
// members as they are then (lib/mentions.ts). A message with neither is inserted as before, by the writer.
import type { Database } from "bun:sqlite";
import { findMentions } from "../../mentions.ts";
import type { User } from "../store.ts";

export function prepareRepliesAndMentions(db: Database) {
  const live = db.query<{ one: number }, [number, number]>(
    "SELECT 1 AS one FROM messages WHERE id = ? AND room_id = ? AND deleted_at IS NULL",
  );
  const roomMembers = db.query<User, [number]>(
    "SELECT u.id, u.login FROM room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = ?",
  );
  const insertMessage = db.query<
    never,
    [number, number, string, string | null, number, number, number | null, string | null]
  >(
    `INSERT INTO messages (room_id, user_id, text, client_id, created_at, seq, reply_to, mentions)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Unread mention counts (GET /v1/rooms): a row per mentioned member but the sender, whose own
  // messages are never unread.
  const insertMention = db.query<never, [number, number, number]>(
    "INSERT INTO mentions (user_id, room_id, message_id) VALUES (?, ?, ?)",
  );
  return {
    replyRefused: (roomId: number, replyTo: number) => live.get(replyTo, roomId) === null,
    // For one batch: who a text mentions, each room's members read once (a batch never spans a
    // membership change: those run on the writer between batches).
    mentionsFor() {
      const members = new Map<number, User[]>();
      return (roomId: number, text: string): number[] => {
        let users = members.get(roomId);
        if (!users) members.set(roomId, (users = roomMembers.all(roomId)));
        return findMentions(text, users);
      };
    },
    // The new message's id.
    insert(
      m: { roomId: number; userId: number; text: string; clientId: string | null; now: number },
      seq: number,
      replyTo: number,
      mentioned: number[],
    ) {
      const json = mentioned.length ? JSON.stringify(mentioned) : null;
      const { roomId, userId } = m;
      const id = Number(
        insertMessage.run(roomId, userId, m.text, m.clientId, m.now, seq, replyTo || null, json).lastInsertRowid,
      );
      for (const user of mentioned) if (user !== userId) insertMention.run(user, roomId, id);
      return id;
    },
  };
}
