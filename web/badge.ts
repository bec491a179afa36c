// The unread count outside the page: "(3) echat" in the tab title and a dot on the favicon. The page's
// policy allows images from this origin only (img-src 'self'), so both icons are bundled files, not drawn on a
// canvas; the icon link is made here rather than in index.html, whose links are its script and style only.
import plainIcon from "./icon.svg";
import unreadIcon from "./icon-unread.svg";

export function showUnread(total: number) {
  document.title = total ? `(${total}) echat` : "echat";
  let link = document.querySelector<HTMLLinkElement>("link#favicon");
  if (!link) {
    link = Object.assign(document.createElement("link"), { id: "favicon", rel: "icon", type: "image/svg+xml" });
    document.head.append(link);
  }
  const href = total ? unreadIcon : plainIcon;
  if (link.getAttribute("href") !== href) link.setAttribute("href", href);
}
