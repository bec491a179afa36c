// Desktop notifications while the tab is open (issue 18): permission is asked for only when the person
// presses "Enable notifications", never on load. A message that matches its room's level shows one when
// its room is not in view or the tab is hidden, with the sender and a preview; a click focuses the tab and
// opens the room. None for one's own messages; a room read meanwhile (here or on another device) closes
// its notifications.
import type { NotifyLevel, Room, StreamMessage } from "../client/index.ts";
import { gist } from "./bubble.ts";
import { h } from "./dom.ts";

export type Level = NotifyLevel;
export const LEVELS: { level: Level; label: string }[] = [
  { level: "all", label: "All messages" },
  { level: "mentions", label: "Mentions only" },
  { level: "none", label: "Nothing" },
];

// The room's level in effect (GET /v1/rooms and the stream's settings frames carry it); for a room not in the
// list (GET /v1/rooms/:id has none), the default: everything in a direct room, mentions in a group.
export function levelOf(room: Room & { notify?: Level }): Level {
  return room.notify ?? (room.kind === "direct" ? "all" : "mentions");
}

export function wanted(level: Level, m: StreamMessage, me: number): boolean {
  if (m.user_id === me || level === "none") return false;
  return level === "all" || !!m.mentions?.includes(me);
}

export type NotifyHost = {
  me(): number;
  room(id: number): (Room & { notify?: Level }) | undefined;
  inView(roomId: number): boolean; // the open room, with the tab shown
  title(room: Room): string;
  sender(room: Room, userId: number): string;
  open(roomId: number): void;
  granted(): void; // permission given (by the control, or in the browser's settings): push may subscribe
};

const supported = () => typeof Notification === "function";

export class DesktopNotifier {
  readonly control = h("button", { type: "button", id: "notify-enable", hidden: true }, "Enable notifications");
  private shown = new Map<number, { id: number; n: Notification }[]>(); // per room, open ones
  private held = new Map<number, StreamMessage>(); // per room, the newest of a replay

  constructor(private host: NotifyHost) {
    this.control.onclick = () => void this.enable();
    this.showControl();
    // Granted or revoked in the browser's own settings: the control follows.
    void navigator.permissions
      ?.query({ name: "notifications" })
      .then((status) => status.addEventListener("change", () => this.changed()))
      .catch(() => {});
  }

  private async enable() {
    if (!supported()) return;
    await Notification.requestPermission();
    this.changed();
  }

  private changed() {
    this.showControl();
    if (supported() && Notification.permission === "granted") this.host.granted();
  }

  private showControl() {
    const state = supported() ? Notification.permission : "unsupported";
    this.control.hidden = state === "granted" || state === "unsupported";
    this.control.disabled = state === "denied";
    this.control.textContent = state === "denied" ? "Notifications blocked" : "Enable notifications";
    this.control.title = state === "denied" ? "Allow notifications for this site in the browser's settings" : "";
  }

  // live: false while the stream replays what came while it was away; of those, each room's newest that
  // matches waits for the end of the replay (synced), so a long absence is one notification per room.
  onMessage(m: StreamMessage, live: boolean) {
    if (!supported() || Notification.permission !== "granted") return;
    const room = this.host.room(m.room_id);
    if (!room || !wanted(levelOf(room), m, this.host.me())) return;
    if (!live) return void this.held.set(m.room_id, m);
    this.show(room, m);
  }

  synced() {
    const held = [...this.held.values()];
    this.held.clear();
    for (const m of held) {
      const room = this.host.room(m.room_id);
      if (room) this.show(room, m);
    }
  }

  private show(room: Room, m: StreamMessage) {
    if (this.host.inView(m.room_id)) return;
    const title = room.kind === "direct" ? this.host.sender(room, m.user_id) : this.host.title(room);
    const body = room.kind === "direct" ? gist(m) : `${this.host.sender(room, m.user_id)}: ${gist(m)}`;
    const n = new Notification(title, { body, tag: `echat-${m.room_id}-${m.id}` });
    n.onclick = () => {
      window.focus();
      this.host.open(m.room_id);
      this.read(m.room_id, m.id);
    };
    const list = this.shown.get(m.room_id) ?? [];
    list.push({ id: m.id, n });
    this.shown.set(m.room_id, list);
  }

  // The user's read marker reached messageId in the room (on this device or another).
  read(roomId: number, messageId: number) {
    if ((this.held.get(roomId)?.id ?? Infinity) <= messageId) this.held.delete(roomId);
    const list = this.shown.get(roomId);
    if (!list) return;
    const rest = list.filter((s) => s.id > messageId);
    for (const s of list) if (s.id <= messageId) s.n.close();
    if (rest.length) this.shown.set(roomId, rest);
    else this.shown.delete(roomId);
  }

  clear() {
    this.held.clear();
    for (const list of this.shown.values()) for (const s of list) s.n.close();
    this.shown.clear();
  }
}
