// Rooms: list mine, create (or find) one for a set of members, show one.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import { foldLogin, roomId, roomUsers } from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { roomJson, roomSummaryJson } from "./shapes.ts";

const MAX_ROOM_USERS = 100;

export function roomHandlers(deps: SessionDeps) {
  const { store, now } = deps;
  return {
    async handleListRooms(req: Req) {
      const caller = await requireUser(deps, req);
      const rooms = await store.listRooms(caller.userId);
      return json(rooms.map((r) => roomSummaryJson(r, caller.userId)));
    },

    async handleCreateRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const { ids, logins } = roomUsers(await readJson(req));
      const members = new Set<number>([caller.userId]);
      for (const login of logins) {
        const user = await store.findUserByLogin(foldLogin(login));
        if (!user) throw new ApiError("user_not_found", `no user with login ${JSON.stringify(login)}`);
        members.add(user.id);
      }
      for (const id of ids) members.add(id);
      if (members.size > MAX_ROOM_USERS) throw new ApiError("too_many_users");
      const found = await store.findUsersByIds([...members]);
      if (found.length !== members.size) throw new ApiError("user_not_found");
      const room = await store.createRoom([...members], now());
      return json(roomJson(room, caller.userId));
    },

    async handleGetRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const room = await store.findRoomForMember(roomId(req.params.id!), caller.userId);
      if (!room) throw new ApiError("room_not_found");
      return json(roomJson(room, caller.userId));
    },
  };
}
