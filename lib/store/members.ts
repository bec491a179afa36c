// Room membership logic that both dialects share.
import { ApiError } from "../errors.ts";
import type { Membership, Stored, User } from "./store.ts";

// One room per member set: the sorted member ids, "1,2,5", stored unique in rooms.member_key.
export function memberKey(memberIds: number[]): string {
  return [...memberIds].sort((a, b) => a - b).join(",");
}

export type MemberRow = { roomId: number; id: number; login: string };

// The members of several rooms, read as one list ordered by room and join position, grouped by room.
export function groupMembersByRoom(rows: Iterable<MemberRow>): Map<number, User[]> {
  const byRoom = new Map<number, User[]>();
  for (const { roomId, id, login } of rows) {
    let users = byRoom.get(roomId);
    if (!users) byRoom.set(roomId, (users = []));
    users.push({ id, login });
  }
  return byRoom;
}

export type MembershipRow = { id: number; seq: number; userId: number };

// A user's rooms (listMemberships), read as one list of (room, its seq, one member) ordered by room.
export function groupMemberships(rows: Iterable<MembershipRow>): Map<number, Membership> {
  const rooms = new Map<number, Membership>();
  for (const { id, seq, userId } of rows) {
    let room = rooms.get(id);
    if (!room) rooms.set(id, (room = { seq, users: [] }));
    room.users.push(userId);
  }
  return rooms;
}

// The first page of a room list: before every (last activity, id).
export const NO_CURSOR = { activity: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER };

// A message batch refuses (null) a message whose sender was removed from the room while it waited in
// the queue: the check runs once per (room, sender) per batch, inside the batch's transaction. It refuses
// ("message_not_found") a reply whose message is not a live one of the room, and ("invalid_files") files that
// are not the sender's unattached uploads to the room, checked there too.
export type NotStored = null | "message_not_found" | "invalid_files";
export const memberOnly = (s: Stored | NotStored): Stored | Promise<never> =>
  s === null || typeof s === "string" ? Promise.reject(new ApiError(s ?? "room_not_found")) : s;
