// A group's members: add people (any member), remove one (the owner, or anyone themself: leave), join
// a public group. Direct rooms' members never change (not_a_group).
import { requireUser } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import type { Changed, Refused } from "../store/store.ts";
import { roomId } from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { mayManage, namedUsers, notManager, refusal } from "./room-rules.ts";
import type { RoomDeps } from "./rooms.ts";
import { roomJson } from "./shapes.ts";

export function memberHandlers(deps: Omit<RoomDeps, "limits">) {
  const { store, now, config, notify } = deps;
  const rules = { maxRooms: config.maxRoomsPerUser, maxUsers: config.maxRoomUsers };
  // The change's events go out in the room's order; the room as the caller now sees it.
  function answer(r: Changed | Refused, callerId: number) {
    if ("refused" in r) throw refusal(r, callerId, config);
    notify.roomChanged(r.events);
    return json(roomJson(r.room, callerId));
  }
  return {
    async handleAddMembers(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      const body = await readJson(req);
      if (!(await store.isMember(id, caller.userId))) throw new ApiError("room_not_found");
      const users = await namedUsers(store, body);
      return answer(await store.addMembers(id, caller.userId, users, now(), rules), caller.userId);
    },

    // Leave (the caller's own id): 200 {}. Remove another member (who may manage the group): the room.
    // Either way the user's room sockets close with 4003 on every instance.
    async handleRemoveMember(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      const target = memberId(req.params.user_id!);
      const room = await store.findRoomForMember(id, caller.userId);
      if (!room) throw new ApiError("room_not_found");
      if (room.kind !== "group") throw new ApiError("not_a_group");
      if (target !== caller.userId && !(await mayManage(store, room, caller))) throw notManager();
      const r = await store.removeMember(id, target, caller.userId, now());
      if ("refused" in r) throw refusal(r, caller.userId, config);
      notify.roomChanged(r.events);
      notify.memberRemoved(id, target);
      return target === caller.userId ? json({}) : json(roomJson(r.room, caller.userId));
    },

    // A public group only; any other room answers room_not_found, revealing nothing.
    async handleJoinRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      return answer(await store.joinRoom(id, caller.userId, now(), rules), caller.userId);
    },
  };
}

function memberId(raw: string): number {
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : 0;
  if (!Number.isSafeInteger(n) || n < 1) throw new ApiError("user_not_found");
  return n;
}
