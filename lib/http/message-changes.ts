// A message's changes over REST: edit (the author), delete (the author, the group's owner or an admin) and
// reactions (any member). Each is stored in the room's order and its event goes out through the notifier
// (room sockets with events=changes, every member's stream).
import { type Caller, requireUser, type SessionDeps } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Limits } from "../limits/limits.ts";
import type { Notifier } from "../realtime/notifier.ts";
import type { MessageChanged, MessageRefused } from "../store/store.ts";
import { messageId, roomId, validEmoji, validText } from "../validate.ts";
import { json, type Req, readJson } from "./respond.ts";
import { type FileUrl, messageJson, reactionsJson } from "./shapes.ts";
import { deleteBytes, type Storage } from "../files/storage.ts";
import type { Logger } from "../log.ts";

// At most this many different emoji on one message (docs/api.md).
export const MAX_EMOJI = 20;

export type MessageChangeDeps = SessionDeps & {
  config: Pick<Config, "maxMessageLength">;
  limits: Pick<Limits, "message">;
  notify: Pick<Notifier, "roomChanged">;
  fileUrl: FileUrl;
  storage: Pick<Storage, "delete">; // a deleted message's files' bytes go after the commit
  log: Logger;
};

export function messageChangeHandlers(deps: MessageChangeDeps) {
  const { store, now, config, limits, notify } = deps;

  // A member of the room (else room_not_found, as every room route), within the message rate: edits and
  // reactions take a token from the sender's message bucket, as a sent message does.
  async function member(req: Req): Promise<{ caller: Caller; room: number; message: number }> {
    const caller = await requireUser(deps, req);
    const room = roomId(req.params.id!);
    if (!(await store.isMember(room, caller.userId))) throw new ApiError("room_not_found");
    if (!limits.message(caller.userId)) throw new ApiError("rate_limited", undefined, { "retry-after": "1" });
    return { caller, room, message: messageId(req.params.message_id!) };
  }

  function done(r: MessageChanged | MessageRefused, who = "the message's author"): MessageChanged {
    if ("refused" in r) throw refusal(r, who);
    notify.roomChanged(r.events);
    return r;
  }

  async function reaction(req: Req, add: boolean) {
    const { caller, room, message } = await member(req);
    const emoji = validEmoji(req.params.emoji!);
    const change = { roomId: room, messageId: message, userId: caller.userId, emoji, add, now: now() };
    const r = done(await store.setReaction({ ...change, maxEmoji: MAX_EMOJI }));
    return json({ message_id: r.message.id, reactions: reactionsJson(r.message.reactions ?? []) });
  }

  return {
    async handleEditMessage(req: Req) {
      const { caller, room, message } = await member(req);
      const body = await readJson(req);
      const text = validText(body.text, config.maxMessageLength);
      const edit = { roomId: room, messageId: message, userId: caller.userId, text, now: now() };
      return json(messageJson(done(await store.editMessage(edit)).message, deps.fileUrl));
    },

    // A server admin may delete in a room they are not in (moderation); anyone else must be a member.
    async handleDeleteMessage(req: Req) {
      const caller = await requireUser(deps, req);
      const room = roomId(req.params.id!);
      const found = await store.findRoomForMember(room, caller.userId);
      const account = found?.ownerId === caller.userId ? null : await store.findAccount(caller.userId);
      const admin = !!account?.admin && !account.disabled;
      if (!found && !admin) throw new ApiError("room_not_found");
      const moderator = admin || found?.ownerId === caller.userId;
      const id = messageId(req.params.message_id!);
      const deletion = { roomId: room, messageId: id, by: caller.userId, moderator, now: now() };
      const { removedFiles } = done(
        await store.deleteMessage(deletion),
        "the message's author, the group's owner or an admin",
      );
      // The rows went with the commit; the bytes go now (a failure leaves bytes no row names, nothing served).
      await deleteBytes(deps.storage, removedFiles ?? [], deps.log, "a file's");
      return json({});
    },

    handleReact: (req: Req) => reaction(req, true),
    handleUnreact: (req: Req) => reaction(req, false),
  };
}

function refusal({ refused }: MessageRefused, who: string): ApiError {
  if (refused === "forbidden") return new ApiError("forbidden", `Only ${who} may do this`);
  if (refused === "too_many_reactions") return new ApiError("too_many_reactions");
  return new ApiError(refused);
}
