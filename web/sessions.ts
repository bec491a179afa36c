// The signed-in devices of the user (#sessions): when each was created and last used, from where, and a
// "Sign out" per session. Ending the current one logs this tab out.
import type { SessionInfo } from "../client/index.ts";
import { client } from "./client.ts";
import { h, localTime } from "./dom.ts";

export class SessionsView {
  readonly el: HTMLElement;
  private list = h("ul", { class: "panel-list", "aria-label": "Sessions" });
  private error = h("p", { class: "form-error", role: "alert" });

  constructor(private host: { loggedOut(): void; back(): void }) {
    const back = h("button", { type: "button", class: "back", "aria-label": "Back to rooms" }, "←");
    back.onclick = () => host.back();
    this.el = h(
      "div",
      { class: "panel sessions-view" },
      h("header", { class: "bar" }, back, h("h2", {}, "Sessions")),
      h(
        "div",
        { class: "panel-body" },
        h("p", { class: "hint" }, "Where you are signed in. Sign out a device you no longer use or do not recognise."),
        this.error,
        this.list,
      ),
    );
  }

  async start() {
    this.error.textContent = "";
    try {
      const sessions = await client.sessions();
      this.list.replaceChildren(...sessions.map((s) => this.row(s)));
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }

  private row(s: SessionInfo): HTMLElement {
    const end = h("button", { type: "button", class: "end-session" }, "Sign out");
    end.onclick = () => this.end(s);
    return h(
      "li",
      { class: "session-item", "data-session": s.id },
      h("strong", { class: "device" }, describeAgent(s.user_agent)),
      s.current ? h("span", { class: "badge" }, "This device") : null,
      h("span", { class: "detail" }, s.address ?? "unknown address"),
      h("span", { class: "detail" }, "Signed in ", localTime(s.created_at)),
      s.last_used_at ? h("span", { class: "detail" }, "Last used ", localTime(s.last_used_at)) : null,
      end,
    );
  }

  private async end(s: SessionInfo) {
    this.error.textContent = "";
    try {
      await client.endSession(s.id);
    } catch (err) {
      this.error.textContent = (err as Error).message;
      return;
    }
    if (s.current) return this.host.loggedOut();
    await this.start();
  }
}

// "Firefox on Linux" from a User-Agent header, or the header itself when it names nothing known.
export function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browser = [/Edg\//, /OPR\//, /Firefox\//, /Chrome\//, /Safari\//].find((re) => re.test(agent));
  const names: Record<string, string> = { Edg: "Edge", OPR: "Opera", Firefox: "Firefox", Chrome: "Chrome" };
  const name = browser ? (names[browser.source.replace("\\/", "")] ?? "Safari") : null;
  const os = [
    ["Android", "Android"],
    ["iPhone", "iPhone"],
    ["iPad", "iPad"],
    ["Windows", "Windows"],
    ["Mac OS", "macOS"],
    ["Linux", "Linux"],
  ].find(([needle]) => agent.includes(needle!))?.[1];
  if (!name) return agent.slice(0, 80);
  return os ? `${name} on ${os}` : name;
}
