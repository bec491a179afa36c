// The room header's notification level: all messages, mentions only or nothing, for this person in this
// room (PUT /v1/rooms/:id/settings; the user's other devices hear of it on their streams).
import type { Room } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";
import { LEVELS, type Level } from "./notify.ts";

export class LevelPicker {
  readonly el: HTMLSelectElement;
  private level: Level;

  constructor(
    readonly room: Room,
    level: Level,
    private saved: (level: Level) => void,
  ) {
    this.level = level;
    this.el = h(
      "select",
      { class: "notify-level", "aria-label": "Notifications for this room", title: "Notifications for this room" },
      ...LEVELS.map((l) => h("option", { value: l.level }, l.label)),
    );
    this.el.value = level;
    this.el.onchange = () => void this.save(this.el.value as Level);
  }

  show(level: Level) {
    this.level = level;
    this.el.value = level;
  }

  private async save(level: Level) {
    try {
      const settings = await client.setRoomSettings(this.room.id, { notify: level });
      this.show(settings.notify);
      this.el.title = "Notifications for this room";
      this.saved(settings.notify);
    } catch (err) {
      this.el.value = this.level; // as it was
      this.el.title = (err as Error).message;
    }
  }
}
