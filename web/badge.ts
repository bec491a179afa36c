// The unread count outside the page: "(3) echat" in the tab title and a dot on the favicon. The page's
// policy allows images from this origin only (img-src 'self'), so the badged icon is a bundled file,
// not one drawn on a canvas.
import unreadIcon from "./icon-unread.svg";

let plainIcon: string | undefined;

export function showUnread(total: number) {
  document.title = total ? `(${total}) echat` : "echat";
  const link = document.querySelector<HTMLLinkElement>("link#favicon");
  if (!link) return;
  plainIcon ??= link.getAttribute("href") ?? "";
  const href = total ? unreadIcon : plainIcon;
  if (link.getAttribute("href") !== href) link.setAttribute("href", href);
}
