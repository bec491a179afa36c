// Reactions as both dialects store them (the messages column, a reaction event's body), and the rule of a
// reaction change.
import type { Reaction } from "./store.ts";

// Stored as the API writes them (the messages column and a reaction event's body): [{"emoji","user_ids"}].
export type StoredReaction = { emoji: string; user_ids: number[] };
export const storedReactions = (reactions: Reaction[]): StoredReaction[] =>
  reactions.map((r) => ({ emoji: r.emoji, user_ids: r.userIds }));
export const fromStored = (list: StoredReaction[]): Reaction[] =>
  list.map((r) => ({ emoji: r.emoji, userIds: r.user_ids }));
export const reactionsText = (reactions: Reaction[]): string | null =>
  reactions.length === 0 ? null : JSON.stringify(storedReactions(reactions));

// The reactions after the change: null when nothing changes, too_many when a new emoji would pass maxEmoji.
// Emoji keep the order they were first used in, users the order they reacted in.
export function react(
  reactions: Reaction[],
  emoji: string,
  userId: number,
  add: boolean,
  maxEmoji: number,
): Reaction[] | null | "too_many" {
  const i = reactions.findIndex((r) => r.emoji === emoji);
  const has = i >= 0 && reactions[i]!.userIds.includes(userId);
  if (add === has) return null;
  if (!add) {
    const userIds = reactions[i]!.userIds.filter((id) => id !== userId);
    return userIds.length ? reactions.with(i, { emoji, userIds }) : reactions.filter((_, j) => j !== i);
  }
  if (i >= 0) return reactions.with(i, { emoji, userIds: [...reactions[i]!.userIds, userId] });
  if (reactions.length >= maxEmoji) return "too_many";
  return [...reactions, { emoji, userIds: [userId] }];
}
