// Who a message mentions (docs/api.md): "@login" of a room member, the login as registered compared
// case-insensitively, at the start of the text or after whitespace or "(", and ending at the end of the
// text, whitespace, or one of ,.;:!?) — logins may hold spaces, so the longest matching login wins.
import type { User } from "./store/store.ts";

const ENDS = /[\s,.;:!?)]/u;
const STARTS = /[\s(]/u;

// The mentioned members' ids, in the order they first appear in the text.
export function findMentions(sent: string, members: readonly User[]): number[] {
  if (!sent.includes("@")) return [];
  const text = sent.normalize("NFC"); // logins are stored NFC (validate.ts); a text may come decomposed
  const logins = members
    .map((u) => ({ id: u.id, lower: u.login.toLowerCase() }))
    .sort((a, b) => b.lower.length - a.lower.length);
  const found: number[] = [];
  for (let at = text.indexOf("@"); at >= 0; at = text.indexOf("@", at + 1)) {
    if (at > 0 && !STARTS.test(text[at - 1]!)) continue;
    const match = logins.find(({ lower }) => {
      const end = at + 1 + lower.length;
      return text.slice(at + 1, end).toLowerCase() === lower && (end === text.length || ENDS.test(text[end]!));
    });
    if (match && !found.includes(match.id)) found.push(match.id);
  }
  return found;
}
