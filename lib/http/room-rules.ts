// What the room handlers share: who may manage a group, the members named in a body, and a store's
// refusal as an API error.
import type { Caller } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Refused, Room, Store, User } from "../store/store.ts";
import { foldLogin, type Json, roomUsers } from "../validate.ts";

// Renaming a group and removing others from it: its owner, or a server admin who is a member (the admin
// flag read from the store each time, as requireAdmin does). The one place that decides it.
export async function mayManage(store: Store, room: Room, caller: Caller): Promise<boolean> {
  if (room.ownerId === caller.userId) return true;
  const account = await store.findAccount(caller.userId);
  return !!account?.admin && !account.disabled;
}

export const notManager = () => new ApiError("forbidden", "Only the group's owner or an admin may do this");

// The users a body names ({"users":[{"id"}|{"login"}]}), by id; every one must exist.
export async function namedUsers(store: Store, body: Json): Promise<number[]> {
  const { ids, logins } = roomUsers(body);
  const found = new Set<number>();
  for (const login of logins) {
    const user = await store.findUserByLogin(foldLogin(login));
    if (!user) throw new ApiError("user_not_found", `no user with login ${JSON.stringify(login)}`);
    found.add(user.id);
  }
  for (const id of ids) found.add(id);
  const users = await store.findUsersByIds([...found]);
  if (users.length !== found.size) throw new ApiError("user_not_found");
  return [...found];
}

export function tooManyUsers(max: number) {
  return new ApiError("too_many_users", `A room has at most ${max} members`);
}

export function tooManyRooms(full: User, callerId: number, max: number) {
  const who = full.id === callerId ? "You are" : `${JSON.stringify(full.login)} is`;
  return new ApiError("too_many_rooms", `${who} already in ${max} rooms, the most a user may be in`);
}

export function refusal(r: Refused, callerId: number, config: Pick<Config, "maxRoomUsers" | "maxRoomsPerUser">) {
  switch (r.refused) {
    case "not_found":
      return new ApiError("room_not_found");
    case "not_a_group":
      return new ApiError("not_a_group");
    case "too_many_users":
      return tooManyUsers(config.maxRoomUsers);
    case "not_member":
      return new ApiError("user_not_found", "That user is not a member of this room");
    case "full":
      return tooManyRooms(r.user, callerId, config.maxRoomsPerUser);
  }
}
