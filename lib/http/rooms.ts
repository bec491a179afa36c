// Rooms: list mine (paged), create (or find) one for a set of members, show one.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Limits } from "../limits/limits.ts";
import { MAX_ROOM_USERS } from "../store/members.ts";
import type { RoomSummary } from "../store/store.ts";
import { foldLogin, roomId, roomPageQuery, roomUsers } from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { roomJson, roomSummaryJson } from "./shapes.ts";

type RoomDeps = SessionDeps & { config: Pick<Config, "maxRoomsPerUser">; limits: Pick<Limits, "roomCreation"> };

export function roomHandlers(deps: RoomDeps) {
  const { store, now, limits, config } = deps;
  return {
    // A JSON array as ever; when more rooms follow, a Link header names the next page.
    async handleListRooms(req: Req) {
      const caller = await requireUser(deps, req);
      const page = roomPageQuery(new URL(req.url).searchParams);
      const rooms = await store.listRooms(caller.userId, { ...page, limit: page.limit + 1 });
      const more = rooms.length > page.limit;
      if (more) rooms.length = page.limit;
      const body = rooms.map((r) => roomSummaryJson(r, caller.userId));
      return json(body, 200, more ? { link: nextLink(rooms.at(-1)!, page.limit) } : undefined);
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
      // The member set's existing room is answered even when the user may not create one now, and
      // finding it costs no room creation (the token goes back).
      const token = limits.roomCreation(caller.userId);
      const made = await store.createRoom([...members], now(), {
        maxRooms: config.maxRoomsPerUser,
        mayCreate: token.taken,
      });
      if (!made.room || !made.created) token.refund();
      if (made.room) return json(roomJson(made.room, caller.userId));
      if (made.full) throw tooManyRooms(made.full, caller.userId, config.maxRoomsPerUser);
      return token.refuse();
    },

    async handleGetRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const room = await store.findRoomForMember(roomId(req.params.id!), caller.userId);
      if (!room) throw new ApiError("room_not_found");
      return json(roomJson(room, caller.userId));
    },
  };
}

function nextLink(last: RoomSummary, limit: number): string {
  return `</v1/rooms?limit=${limit}&before=${last.lastActivity}_${last.id}>; rel="next"`;
}

function tooManyRooms(full: { id: number; login: string }, callerId: number, max: number) {
  const who = full.id === callerId ? "You are" : `${JSON.stringify(full.login)} is`;
  return new ApiError("too_many_rooms", `${who} already in ${max} rooms, the most a user may be in`);
}
