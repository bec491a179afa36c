// A group's members beside its messages: who is in it (the owner marked), adding people by login, removing
// them (the owner or a server admin), leaving, and the owner's edit of the name, topic and visibility, and of how
// long the group keeps its messages (retention).
import type { Info, Room } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";

export type MembersHost = { left(): void };

// value: the room's retention in seconds as the select holds it ("": the server's).
const RETENTIONS: [string, string][] = [
  ["", "Server default"],
  ["0", "Forever"],
  ["2592000", "30 days"],
  ["31536000", "1 year"],
];

export class MembersPanel {
  readonly el: HTMLElement;
  private list = h("ul", { class: "member-list", "aria-label": "Members" });
  private error = h("p", { class: "form-error", role: "alert" });
  private edit: HTMLFormElement;
  private add: HTMLFormElement;
  private keep = h("select", { name: "retention" });
  private keepLabel: HTMLElement;
  private room!: Room;

  constructor(
    room: Room,
    private me: Info,
    private host: MembersHost,
  ) {
    this.add = this.addForm();
    this.edit = this.editForm();
    this.keepLabel = this.retentionChoice();
    const leave = h("button", { type: "button", class: "leave" }, "Leave group");
    leave.onclick = () => this.leave();
    this.el = h(
      "aside",
      { class: "members-panel", "aria-label": "Group members" },
      h("h3", {}, "Members"),
      this.error,
      this.list,
      this.add,
      this.edit,
      this.keepLabel,
      leave,
    );
    this.show(room);
  }

  // The room as it is now (from a members or room frame, or a REST answer).
  show(room: Room) {
    this.room = room;
    const manages = room.owner_id === this.me.id || this.me.admin;
    this.list.replaceChildren(...room.users.map((u) => this.row(u, manages)));
    this.edit.hidden = !manages;
    const [name, topic, isPublic] = ["name", "topic", "public"].map((n) => this.edit.elements.namedItem(n));
    (name as HTMLInputElement).value = room.name ?? "";
    (topic as HTMLInputElement).value = room.topic ?? "";
    (isPublic as HTMLInputElement).checked = room.public;
    this.keepLabel.hidden = !manages;
    this.showRetention(room.retention);
  }

  // The choices, and the room's own value when it is none of them (set through the API).
  private showRetention(retention: number | null) {
    const value = retention === null ? "" : String(retention);
    const options = [...RETENTIONS];
    if (!options.some(([v]) => v === value)) options.push([value, `${Math.round(Number(value) / 86400)} days`]);
    this.keep.replaceChildren(...options.map(([v, label]) => h("option", { value: v }, label)));
    this.keep.value = value;
  }

  // The group's retention (its owner or an admin): applied at once; the room frame that follows shows it.
  private retentionChoice(): HTMLElement {
    this.keep.onchange = async () => {
      const retention = this.keep.value === "" ? null : Number(this.keep.value);
      const set = await this.attempt(() => client.setRoomSettings(this.room.id, { retention }));
      if (set) this.show({ ...this.room, retention: set.retention });
    };
    return h("label", { class: "retention" }, "Keep messages ", this.keep);
  }

  private row(u: { id: number; login: string }, manages: boolean): HTMLElement {
    const remove = h("button", { type: "button", class: "remove-member" }, "Remove");
    remove.onclick = () => this.attempt(() => client.removeMember(this.room.id, u.id));
    return h(
      "li",
      { class: "member", "data-user": String(u.id) },
      h("span", { class: "login" }, u.login),
      u.id === this.room.owner_id ? h("span", { class: "badge" }, "owner") : null,
      u.id === this.me.id ? h("span", { class: "badge" }, "you") : null,
      manages && u.id !== this.me.id ? remove : null,
    );
  }

  private addForm(): HTMLFormElement {
    const login = h("input", { name: "login", placeholder: "Add people by login", autocomplete: "off" });
    const form = h("form", { class: "add-member" }, login, h("button", { type: "submit" }, "Add")) as HTMLFormElement;
    form.onsubmit = async (e) => {
      e.preventDefault();
      const logins = login.value.split(/[\s,]+/).filter(Boolean);
      if (!logins.length) return;
      const room = await this.attempt(() =>
        client.addMembers(
          this.room.id,
          logins.map((l) => ({ login: l })),
        ),
      );
      if (room) {
        login.value = "";
        this.show(room);
      }
    };
    return form;
  }

  private editForm(): HTMLFormElement {
    const form = h(
      "form",
      { class: "edit-room" },
      h("label", {}, "Name ", h("input", { name: "name", maxlength: "100", required: true })),
      h("label", {}, "Topic ", h("input", { name: "topic", maxlength: "1000" })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "public" }), " Listed in the directory"),
      h("button", { type: "submit" }, "Save"),
    ) as HTMLFormElement;
    form.onsubmit = async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const change = {
        name: String(data.get("name") ?? ""),
        topic: String(data.get("topic") ?? "") || null,
        public: data.get("public") === "on",
      };
      const room = await this.attempt(() => client.updateRoom(this.room.id, change));
      if (room) this.show(room);
    };
    return form;
  }

  private async leave() {
    if ((await this.attempt(() => client.leave(this.room.id, this.me.id))) !== undefined) this.host.left();
  }

  // Runs a call, showing its error here; undefined when it failed.
  private async attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
    this.error.textContent = "";
    try {
      return (await call()) ?? (null as T);
    } catch (e) {
      this.error.textContent = (e as Error).message;
      return undefined;
    }
  }
}
