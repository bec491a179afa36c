// PostgreSQL rows as domain types. bigint columns arrive as strings; text and client_id are bytea.
import type { Message, User } from "../store.ts";

export type Row = Record<string, any>;

export function user(r: Row): User {
  return { id: Number(r.id), login: r.login };
}

export function message(r: Row): Message {
  return {
    id: Number(r.id),
    roomId: Number(r.room_id),
    userId: Number(r.user_id),
    text: Buffer.from(r.text).toString(),
    clientId: r.client_id === null ? null : Buffer.from(r.client_id).toString(),
    createdAt: Number(r.created_at),
  };
}
