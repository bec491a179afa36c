// Named groups: the form that creates one (#new-group) and the directory of public groups to join
// (#directory). Both take the room pane's place, like the admin view.
import type { PublicRoom, Room } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";

export type GroupsHost = { back(): void; opened(room: Room): void };

function panel(title: string, host: GroupsHost, ...body: HTMLElement[]): HTMLElement {
  const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
  back.onclick = () => host.back();
  return h(
    "div",
    { class: "panel" },
    h("header", { class: "bar" }, back, h("h2", {}, title)),
    h("div", { class: "panel-body" }, ...body),
  );
}

export class NewGroupView {
  readonly el: HTMLElement;
  private error = h("p", { class: "form-error", role: "alert" });

  constructor(private host: GroupsHost) {
    const form = h(
      "form",
      { class: "new-group card-form" },
      h("label", {}, "Name ", h("input", { name: "name", id: "group-name", maxlength: "100", required: true })),
      h("label", {}, "Topic ", h("input", { name: "topic", id: "group-topic", maxlength: "1000" })),
      h(
        "label",
        {},
        "People ",
        h("input", {
          name: "people",
          id: "group-people",
          placeholder: "logins, separated by commas",
          autocomplete: "off",
        }),
      ),
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "public", id: "group-public" }),
        " Anyone can find and join it",
      ),
      this.error,
      h("button", { type: "submit", class: "primary" }, "Create group"),
    ) as HTMLFormElement;
    form.onsubmit = (e) => {
      e.preventDefault();
      void this.create(new FormData(form));
    };
    this.el = panel("New group", host, form);
  }

  async start() {
    (this.el.querySelector("#group-name") as HTMLInputElement).focus();
  }

  private async create(data: FormData) {
    this.error.textContent = "";
    const people = String(data.get("people") ?? "")
      .split(/[\s,]+/)
      .filter(Boolean);
    try {
      const room = await client.createGroup({
        name: String(data.get("name") ?? ""),
        topic: String(data.get("topic") ?? "") || null,
        public: data.get("public") === "on",
        users: people.map((login) => ({ login })),
      });
      this.host.opened(room);
    } catch (e) {
      this.error.textContent = (e as Error).message;
    }
  }
}

export class DirectoryView {
  readonly el: HTMLElement;
  private list = h("ul", { class: "panel-list", "aria-label": "Public groups" });
  private error = h("p", { class: "form-error", role: "alert" });
  private query = h("input", {
    type: "search",
    id: "directory-q",
    placeholder: "Find groups by name",
    autocomplete: "off",
  });
  private timer?: ReturnType<typeof setTimeout>;

  constructor(private host: GroupsHost) {
    this.query.oninput = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), 200);
    };
    this.el = panel("Public groups", host, this.query, this.error, this.list);
  }

  async start() {
    await this.load();
  }

  private async load() {
    const q = this.query.value.trim();
    this.error.textContent = "";
    try {
      const rooms = await client.publicRooms({ q: q || undefined, limit: 50 });
      if (this.query.value.trim() !== q) return;
      this.list.replaceChildren(...rooms.map((r) => this.row(r)));
      if (!rooms.length) this.list.replaceChildren(h("li", { class: "hint" }, "No public groups found."));
    } catch (e) {
      this.error.textContent = (e as Error).message;
    }
  }

  private row(r: PublicRoom): HTMLElement {
    const join = h("button", { type: "button", class: "join" }, "Join");
    join.onclick = async () => {
      try {
        this.host.opened(await client.joinRoom(r.id));
      } catch (e) {
        this.error.textContent = (e as Error).message;
      }
    };
    return h(
      "li",
      { class: "directory-item", "data-room": String(r.id) },
      h("strong", {}, r.name),
      r.topic ? h("span", { class: "detail" }, r.topic) : null,
      h("span", { class: "detail" }, `${r.member_count} member${r.member_count === 1 ? "" : "s"}`),
      join,
    );
  }
}
