// What a message's parts and menu do in an open room, by REST: toggle a reaction, edit, delete, fetch the
// original of a reply that is not on screen, fetch fresh URLs for a message's files. Edits and reactions show
// when their events come back on the stream, in the room's order (an answer could be older than an event that
// overtook it); a delete shows at once, as nothing can follow it.
import type { Info, Message, Room } from "../client/index.ts";
import { client } from "./client.ts";
import type { Composer } from "./composer.ts";
import { type MenuActions, openMenu } from "./message-menu.ts";
import type { MessageActions, MessageList } from "./message-list.ts";

export type ActionsHost = {
  room: Room;
  me: Info;
  list: () => MessageList;
  composer: () => Composer;
  jump(messageId: number): void;
};

export function messageActions(host: ActionsHost): MessageActions {
  const menu = menuActions(host);
  return {
    jump: (id) => host.jump(id),
    toggleReaction: (id, emoji) => {
      const m = host.list().message(id);
      if (m) void toggle(host, m, emoji).catch((e: Error) => host.composer().showError(e.message));
    },
    menu: (id, el) => {
      const m = host.list().message(id);
      if (m) openMenu(el, m, menu);
    },
    original: (id) => fetchMessage(host, id),
    renewFiles: (id, fileId) =>
      void fetchMessage(host, id)
        .then((m) => m && host.list().renewFiles(m, fileId)?.click())
        .catch((e: Error) => host.composer().showError(e.message)),
  };
}

async function fetchMessage(host: ActionsHost, id: number): Promise<Message | null> {
  const [m] = await client.messages(host.room.id, { after: id - 1, limit: 1 });
  return m?.id === id ? m : null;
}

function menuActions(host: ActionsHost): MenuActions {
  const mine = (m: Message) => m.user_id === host.me.id;
  return {
    canEdit: mine,
    canDelete: (m) => mine(m) || host.room.owner_id === host.me.id || host.me.admin,
    reply: (m) => host.composer().replyTo(m),
    edit: (m) => host.composer().edit(m),
    remove: async (m) => {
      await client.deleteMessage(host.room.id, m.id);
      host.list().remove(m.id);
      host.composer().removed(m.id);
    },
    react: async (m, emoji) => void (await client.react(host.room.id, m.id, emoji)),
  };
}

async function toggle(host: ActionsHost, m: Message, emoji: string) {
  const reacted = m.reactions?.find((r) => r.emoji === emoji)?.user_ids.includes(host.me.id);
  if (reacted) await client.unreact(host.room.id, m.id, emoji);
  else await client.react(host.room.id, m.id, emoji);
}
