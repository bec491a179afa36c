// Who else is in the room right now: online dots, "… is typing", and "Seen by …" markers.
import type { User } from "../client/index.ts";
import { h } from "./dom.ts";

const TYPING_SHOWN_MS = 4000;

export class People {
  readonly presence = h("p", { class: "presence" });
  readonly typing = h("p", { class: "typing", "aria-live": "polite" });
  private typers = new Map<number, ReturnType<typeof setTimeout>>();
  private marks = new Map<number, HTMLElement>();
  private onlineIds: number[] = [];

  constructor(private others: User[]) {
    this.online([]);
  }

  // The members changed (a group's members come and go): the presence line follows.
  setOthers(others: User[]) {
    this.others = others;
    this.online(this.onlineIds);
  }

  name(id: number) {
    return this.others.find((u) => u.id === id)?.login ?? "someone";
  }

  online(ids: number[]) {
    this.onlineIds = ids;
    const dot = (on: boolean, label: string) => h("span", { class: on ? "who online" : "who" }, label);
    if (this.others.length === 1) {
      const on = ids.includes(this.others[0]!.id);
      return this.presence.replaceChildren(dot(on, on ? "online" : "offline"));
    }
    this.presence.replaceChildren(
      ...this.others.map((u) => {
        const on = ids.includes(u.id);
        return h(
          "span",
          { title: on ? "online" : "offline" },
          dot(on, u.login),
          h("span", { class: "sr" }, on ? " (online)" : " (offline)"),
        );
      }),
    );
  }

  typed(id: number) {
    clearTimeout(this.typers.get(id));
    this.typers.set(
      id,
      setTimeout(() => this.stopped(id), TYPING_SHOWN_MS),
    );
    this.renderTyping();
  }

  stopped(id: number) {
    clearTimeout(this.typers.get(id));
    if (this.typers.delete(id)) this.renderTyping();
  }

  // Disconnected: nobody is known to be online or typing until the server says so again.
  unknown() {
    this.online([]);
    for (const id of [...this.typers.keys()]) this.stopped(id);
  }

  // One marker per person, under the newest message their read marker covers.
  seen(id: number, message: HTMLElement | undefined) {
    let mark = this.marks.get(id);
    if (!mark) this.marks.set(id, (mark = h("span", { class: "seen" }, `Seen by ${this.name(id)}`)));
    if (message) message.append(mark);
  }

  private renderTyping() {
    const who = [...this.typers.keys()].map((id) => this.name(id));
    this.typing.textContent = who.length ? `${who.join(", ")} ${who.length > 1 ? "are" : "is"} typing…` : "";
  }
}
