// Rooms: list mine (paged), create a direct room (or find it by its members) or a group, show one,
// change a group's name, topic and visibility, one's own settings in a room, and the directory of public groups.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Limits } from "../limits/limits.ts";
import type { Notifier } from "../realtime/notifier.ts";
import type { CreatedRoom, PublicRoom, RoomChange, RoomSummary } from "../store/store.ts";
import {
  flag,
  type Json,
  notifyLevel,
  publicRoomsQuery,
  retentionSeconds,
  roomId,
  roomName,
  roomPageQuery,
  roomTopic,
} from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { mayManage, namedUsers, notManager, refusal, tooManyRooms, tooManyUsers } from "./room-rules.ts";
import { type FileUrl, publicRoomJson, roomJson, roomSettingsJson, roomSummaryJson } from "./shapes.ts";

export type RoomDeps = SessionDeps & {
  config: Pick<Config, "maxRoomsPerUser" | "maxRoomUsers">;
  limits: Pick<Limits, "roomCreation">;
  notify: Pick<Notifier, "roomChanged" | "memberRemoved" | "settingsChanged">;
  fileUrl: FileUrl;
};

export function roomHandlers(deps: RoomDeps) {
  const { store, now, limits, config, notify } = deps;
  return {
    // A JSON array as ever; when more rooms follow, a Link header names the next page.
    async handleListRooms(req: Req) {
      const caller = await requireUser(deps, req);
      const page = roomPageQuery(new URL(req.url).searchParams);
      const rooms = await store.listRooms(caller.userId, { ...page, limit: page.limit + 1 });
      const more = rooms.length > page.limit;
      if (more) rooms.length = page.limit;
      const body = rooms.map((r) => roomSummaryJson(r, caller.userId, deps.fileUrl));
      return json(body, 200, more ? { link: nextLink(rooms.at(-1)!, page.limit) } : undefined);
    },

    // Without "name": the seed's direct room, one per member set. With it: a new group, the caller its owner.
    async handleCreateRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const body = await readJson(req);
      const group = body.name === undefined ? null : groupFields(body);
      const others = (await namedUsers(store, body)).filter((id) => id !== caller.userId);
      const members = [caller.userId, ...others];
      if (members.length > config.maxRoomUsers) throw tooManyUsers(config.maxRoomUsers);
      // The member set's existing room is answered even when the user may not create one now, and
      // finding it costs no room creation (the token goes back).
      const token = limits.roomCreation(caller.userId);
      const rules = { maxRooms: config.maxRoomsPerUser, mayCreate: token.taken };
      const made: CreatedRoom = group
        ? await store.createGroup({ ...group, creatorId: caller.userId, memberIds: members }, now(), rules)
        : await store.createRoom(members, now(), rules);
      if (!made.room || !made.created) token.refund();
      if (made.room) {
        notify.roomChanged(made.events);
        return json(roomJson(made.room, caller.userId));
      }
      if (made.full) throw tooManyRooms(made.full, caller.userId, config.maxRoomsPerUser);
      return token.refuse();
    },

    async handleGetRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const room = await store.findRoomForMember(roomId(req.params.id!), caller.userId);
      if (!room) throw new ApiError("room_not_found");
      return json(roomJson(room, caller.userId));
    },

    // PATCH: a group's name, topic or visibility, by whoever may manage it.
    async handleUpdateRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      const change = roomChange(await readJson(req));
      const room = await store.findRoomForMember(id, caller.userId);
      if (!room) throw new ApiError("room_not_found");
      if (room.kind !== "group") throw new ApiError("not_a_group");
      if (!(await mayManage(store, room, caller))) throw notManager();
      const r = await store.updateRoom(id, caller.userId, change, now());
      if ("refused" in r) throw refusal(r, caller.userId, config);
      notify.roomChanged(r.events);
      return json(roomJson(r.room, caller.userId));
    },

    // PUT: the caller's own settings in the room (its notification level), told to the caller's streams, and
    // the room's retention, by whoever may manage it (a direct room: an admin), told to the room as a change.
    async handleSetRoomSettings(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      const body = await readJson(req);
      if (body.notify === undefined && body.retention === undefined) throw new ApiError("invalid_notify");
      const level = body.notify === undefined ? undefined : notifyLevel(body.notify);
      const retention = body.retention === undefined ? undefined : retentionSeconds(body.retention);
      let room = await store.findRoomForMember(id, caller.userId);
      if (!room) throw new ApiError("room_not_found");
      if (retention !== undefined) {
        if (!(await mayManage(store, room, caller))) throw notManager();
        const r = await store.setRoomRetention(id, caller.userId, retention, now());
        if ("refused" in r) throw refusal(r, caller.userId, config);
        notify.roomChanged(r.events);
        room = r.room;
      }
      const stored = await store.setRoomSettings(id, caller.userId, level === undefined ? {} : { notify: level });
      if (!stored) throw new ApiError("room_not_found");
      if (level !== undefined) notify.settingsChanged(id, caller.userId, stored);
      return json(roomSettingsJson(stored, room.retention));
    },

    // Public groups, newest first, to every user; a Link header names the next page.
    async handleListPublicRooms(req: Req) {
      await requireUser(deps, req);
      const page = publicRoomsQuery(new URL(req.url).searchParams);
      const rooms = await store.listPublicRooms({ ...page, limit: page.limit + 1 });
      const more = rooms.length > page.limit;
      if (more) rooms.length = page.limit;
      const link = more ? { link: nextPublicLink(req.url, rooms.at(-1)!, page.limit) } : undefined;
      return json(rooms.map(publicRoomJson), 200, link);
    },
  };
}

function groupFields(body: Json) {
  return {
    name: roomName(body.name),
    topic: body.topic === undefined ? null : roomTopic(body.topic),
    public: body.public === undefined ? false : flag(body.public, "public"),
  };
}

function roomChange(body: Json): RoomChange {
  const change: RoomChange = {};
  if (body.name !== undefined) change.name = roomName(body.name);
  if (body.topic !== undefined) change.topic = roomTopic(body.topic);
  if (body.public !== undefined) change.public = flag(body.public, "public");
  if (Object.keys(change).length === 0) throw new ApiError("invalid_json", 'give "name", "topic" or "public"');
  return change;
}

function nextLink(last: RoomSummary, limit: number): string {
  return `</v1/rooms?limit=${limit}&before=${last.lastActivity}_${last.id}>; rel="next"`;
}

function nextPublicLink(url: string, last: PublicRoom, limit: number): string {
  const q = new URL(url).searchParams.get("q");
  const params = new URLSearchParams({ ...(q ? { q } : {}), limit: String(limit), before: String(last.id) });
  return `</v1/rooms/public?${params}>; rel="next"`;
}
