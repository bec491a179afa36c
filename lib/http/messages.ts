// Messages over REST: a room's history, paged by id.
import { requireUser, type SessionDeps } from "../auth/sessions.ts";
import { ApiError } from "../errors.ts";
import { pageQuery, roomId } from "../validate.ts";
import { json, type Req } from "./respond.ts";
import { type FileUrl, messageJson } from "./shapes.ts";

export function messageHandlers(deps: SessionDeps & { fileUrl: FileUrl }) {
  const { store } = deps;
  return {
    async handleListMessages(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      if (!(await store.isMember(id, caller.userId))) throw new ApiError("room_not_found");
      const page = pageQuery(new URL(req.url).searchParams);
      const messages = await store.listMessages(id, page);
      return json(messages.map((m) => messageJson(m, deps.fileUrl)));
    },
  };
}
