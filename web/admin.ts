// The admin view (#admin), shown to server admins only: invite links (create with uses and expiry, copy,
// revoke) and the users (search, disable or enable, make or unmake admin).
import type { AdminUser, Invite } from "../client/index.ts";
import { client } from "./client.ts";
import { h, localTime } from "./dom.ts";

const DAY = 86_400;

export class AdminView {
  readonly el: HTMLElement;
  private error = h("p", { class: "form-error", role: "alert" });
  private invites = h("ul", { class: "panel-list", "aria-label": "Invite links" });
  private created = h("div", { class: "created-invite" });
  private users = h("ul", { class: "panel-list", "aria-label": "Users" });
  private query = h("input", {
    type: "search",
    id: "admin-q",
    placeholder: "Find users by login",
    autocomplete: "off",
  });
  private searchTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private me: { id: number },
    host: { back(): void },
  ) {
    const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
    back.onclick = () => host.back();
    this.query.oninput = () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.loadUsers(), 200);
    };
    this.el = h(
      "div",
      { class: "panel admin-view" },
      h("header", { class: "bar" }, back, h("h2", {}, "Admin")),
      h(
        "div",
        { class: "panel-body" },
        this.error,
        h("h3", {}, "Invite links"),
        this.inviteForm(),
        this.created,
        this.invites,
        h("h3", {}, "Users"),
        this.query,
        this.users,
      ),
    );
  }

  async start() {
    await Promise.all([this.loadInvites(), this.loadUsers()]);
  }

  private inviteForm(): HTMLFormElement {
    const uses = h("input", { type: "number", id: "invite-uses", min: "1", max: "1000", value: "1", required: true });
    const expires = h(
      "select",
      { id: "invite-expires" },
      h("option", { value: String(DAY) }, "1 day"),
      h("option", { value: String(7 * DAY), selected: true }, "7 days"),
      h("option", { value: String(30 * DAY) }, "30 days"),
    );
    const form = h(
      "form",
      { class: "invite-form" },
      h("label", {}, "Uses ", uses),
      h("label", {}, "Expires after ", expires),
      h("button", { type: "submit", class: "primary" }, "Create invite link"),
    );
    form.onsubmit = async (e) => {
      e.preventDefault();
      const made = await this.attempt(() =>
        client.createInvite({ uses: Number(uses.value), expires_in: Number(expires.value) }),
      );
      if (!made) return;
      this.created.replaceChildren(h("p", {}, "New invite link (shown only now, copy it):"), copyable(made.value.url));
      await this.loadInvites();
    };
    return form;
  }

  private async loadInvites() {
    const list = (await this.attempt(() => client.invites()))?.value;
    if (!list) return;
    this.invites.replaceChildren(...list.map((i) => this.inviteRow(i)));
    if (!list.length) this.invites.replaceChildren(h("li", { class: "hint" }, "No open invite links."));
  }

  private inviteRow(invite: Invite): HTMLElement {
    const revoke = h("button", { type: "button", class: "revoke" }, "Revoke");
    revoke.onclick = async () => {
      if (await this.attempt(() => client.revokeInvite(invite.id))) await this.loadInvites();
    };
    const uses = `${invite.uses_left} use${invite.uses_left === 1 ? "" : "s"} left`;
    return h(
      "li",
      { class: "invite-item", "data-invite": invite.id },
      h("code", { title: "Invite id" }, invite.id.slice(0, 8)),
      invite.room_id ? h("span", { class: "detail" }, `joins room ${invite.room_id}`) : null,
      h("span", { class: "detail" }, uses, ", expires ", localTime(invite.expires_at)),
      revoke,
    );
  }

  private async loadUsers() {
    const q = this.query.value.trim();
    const users = (await this.attempt(() => client.adminUsers({ limit: 50, q: q || undefined })))?.value;
    if (!users || this.query.value.trim() !== q) return;
    this.users.replaceChildren(...users.map((u) => this.userRow(u)));
  }

  private userRow(u: AdminUser): HTMLElement {
    const change = async (patch: Partial<Pick<AdminUser, "admin" | "disabled">>) => {
      if (await this.attempt(() => client.updateUser(u.id, patch))) await this.loadUsers();
    };
    const disable = h("button", { type: "button", class: "toggle-disabled" }, u.disabled ? "Enable" : "Disable");
    disable.onclick = () => change({ disabled: !u.disabled });
    const admin = h("button", { type: "button", class: "toggle-admin" }, u.admin ? "Remove admin" : "Make admin");
    admin.onclick = () => change({ admin: !u.admin });
    return h(
      "li",
      { class: "user-item", "data-user": String(u.id) },
      h("strong", {}, u.login),
      u.admin ? h("span", { class: "badge" }, "admin") : null,
      u.disabled ? h("span", { class: "badge off" }, "disabled") : null,
      u.id === this.me.id ? h("span", { class: "badge" }, "you") : null,
      u.last_seen_at
        ? h("span", { class: "detail" }, "Last seen ", localTime(u.last_seen_at))
        : h("span", { class: "detail" }, "Never seen"),
      u.id === this.me.id ? null : disable,
      admin,
    );
  }

  // Runs a call, showing its error in the view; undefined when it failed.
  private async attempt<T>(call: () => Promise<T>): Promise<{ value: T } | undefined> {
    this.error.textContent = "";
    try {
      return { value: await call() };
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }
}

// A read-only field with the link selected on focus, and a Copy button.
function copyable(url: string): HTMLElement {
  const field = h("input", { class: "invite-url", readonly: true, value: url, "aria-label": "Invite link" });
  field.onfocus = () => field.select();
  const copy = h("button", { type: "button", class: "copy" }, "Copy");
  copy.onclick = async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(url);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Press Ctrl+C";
    }
  };
  return h("span", { class: "copyable" }, field, copy);
}
