// A message's menu, opened from its ⋯ button: reply, react (a few common emoji or any typed one), edit and
// delete (after a confirmation) where the viewer may. One menu is open at a time, inside the message.
import type { Message } from "../client/index.ts";
import { h } from "./dom.ts";

export type MenuActions = {
  canEdit(m: Message): boolean;
  canDelete(m: Message): boolean;
  reply(m: Message): void;
  edit(m: Message): void;
  remove(m: Message): Promise<void>;
  react(m: Message, emoji: string): Promise<void>;
};

export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

let open: { el: HTMLElement; close: () => void } | null = null;

export function closeMenu() {
  open?.close();
}

export function openMenu(msg: HTMLElement, m: Message, actions: MenuActions) {
  const again = open?.el.parentElement === msg;
  closeMenu();
  if (again) return; // the button toggles it
  const menu = h("div", { class: "menu", role: "menu", "aria-label": "Message actions" });
  const item = (label: string, cls: string, run: () => void) => {
    const b = h("button", { type: "button", role: "menuitem", class: cls }, label);
    b.onclick = run;
    return b;
  };
  const done = () => closeMenu();
  menu.append(
    item("Reply", "menu-reply", () => (done(), actions.reply(m))),
    item("React", "menu-react", () => picker(menu, m, actions)),
    actions.canEdit(m) ? item("Edit", "menu-edit", () => (done(), actions.edit(m))) : "",
    actions.canDelete(m) ? item("Delete", "menu-delete", () => confirmDelete(menu, m, actions)) : "",
  );
  show(msg, menu);
}

function show(msg: HTMLElement, menu: HTMLElement) {
  const button = msg.querySelector<HTMLElement>(".msg-menu");
  const outside = (e: Event) => !menu.contains(e.target as Node) && !button?.contains(e.target as Node) && close();
  const key = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      close();
      button?.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") moveFocus(menu, e.key === "ArrowDown" ? 1 : -1, e);
  };
  const close = () => {
    menu.remove();
    document.removeEventListener("pointerdown", outside, true);
    document.removeEventListener("keydown", key, true);
    button?.setAttribute("aria-expanded", "false");
    if (open?.el === menu) open = null;
  };
  document.addEventListener("pointerdown", outside, true);
  document.addEventListener("keydown", key, true);
  button?.setAttribute("aria-expanded", "true");
  msg.append(menu);
  open = { el: menu, close };
  menu.scrollIntoView({ block: "nearest" });
  menu.querySelector<HTMLElement>("button")?.focus();
}

// ↑ and ↓ between the menu's items (not inside the typed emoji's field).
function moveFocus(menu: HTMLElement, step: number, e: KeyboardEvent) {
  const items = [...menu.querySelectorAll<HTMLElement>("button")];
  const at = items.indexOf(document.activeElement as HTMLElement);
  if (at < 0) return;
  e.preventDefault();
  items[(at + step + items.length) % items.length]!.focus();
}

// The common emoji, and a field for any other (one emoji; the server says which it takes).
function picker(menu: HTMLElement, m: Message, actions: MenuActions) {
  const error = h("p", { class: "form-error", role: "alert" });
  const pick = (emoji: string) =>
    actions.react(m, emoji).then(closeMenu, (e: Error) => (error.textContent = e.message));
  const buttons = COMMON_EMOJI.map((emoji) => {
    const b = h("button", { type: "button", class: "pick", "aria-label": `React ${emoji}` }, emoji);
    b.onclick = () => pick(emoji);
    return b;
  });
  const typed = h("input", { name: "emoji", class: "typed-emoji", placeholder: "Any emoji", "aria-label": "Emoji" });
  const form = h("form", { class: "picker-typed" }, typed, h("button", { type: "submit" }, "Add"));
  form.onsubmit = (e) => {
    e.preventDefault();
    const emoji = typed.value.trim();
    if (emoji) pick(emoji);
  };
  menu.setAttribute("aria-label", "Reactions");
  menu.replaceChildren(h("div", { class: "picker" }, ...buttons), form, error);
  menu.scrollIntoView({ block: "nearest" });
  buttons[0]!.focus();
}

function confirmDelete(menu: HTMLElement, m: Message, actions: MenuActions) {
  const error = h("p", { class: "form-error", role: "alert" });
  const yes = h("button", { type: "button", class: "danger confirm-delete" }, "Delete");
  const no = h("button", { type: "button", class: "cancel-delete" }, "Cancel");
  yes.onclick = () => actions.remove(m).then(closeMenu, (e: Error) => (error.textContent = e.message));
  no.onclick = closeMenu;
  menu.setAttribute("role", "alertdialog");
  menu.setAttribute("aria-label", "Delete this message?");
  menu.replaceChildren(h("p", {}, "Delete this message for everyone?"), h("div", { class: "buttons" }, yes, no), error);
  menu.scrollIntoView({ block: "nearest" });
  no.focus();
}
