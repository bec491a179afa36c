// Writing and sending: each message goes out with its own client_id and shows as pending until the
// server's copy comes back (the room socket of client/ sends it again on every reconnect until then; the
// server stores it once); a refused one comes back to the input to edit. Writing also tells the room you
// are typing.
import { type Message, newClientId, type User } from "../client/index.ts";
import { h } from "./dom.ts";
import type { MessageList } from "./message-list.ts";

// send: resolves with the stored message, rejects with the refusal. typing: false while not connected.
export type Outgoing = { send(text: string, clientId: string): Promise<Message>; typing(): boolean };

const TYPING_EVERY_MS = 2000;
const MAX_FRAME_BYTES = 60 * 1024; // the server closes the socket on frames over 64 KiB

type Pending = { el: HTMLElement; text: string };

export class Composer {
  readonly form: HTMLFormElement;
  readonly error = h("p", { class: "form-error", role: "alert" });
  private input = h("textarea", { id: "text", rows: "1", placeholder: "Write a message", "aria-label": "Message" });
  private pending = new Map<string, Pending>();
  private lastTypingSent = 0;

  constructor(
    private me: User,
    private roomId: number,
    private list: MessageList,
    private out: Outgoing,
  ) {
    this.form = h(
      "form",
      { class: "composer", id: "composer" },
      this.input,
      h("button", { type: "submit", class: "primary" }, "Send"),
    );
    this.form.onsubmit = (e) => {
      e.preventDefault();
      this.submit();
    };
    this.input.onkeydown = (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    };
    this.input.oninput = () => {
      this.grow();
      this.error.textContent = "";
      if (Date.now() - this.lastTypingSent > TYPING_EVERY_MS && this.out.typing()) this.lastTypingSent = Date.now();
    };
  }

  focus() {
    this.input.focus();
  }

  showError(text: string) {
    this.error.textContent = text;
  }

  // The server's copy of a message: true when it was one of ours, no longer pending.
  acknowledged(clientId: string | undefined): boolean {
    const p = clientId === undefined ? undefined : this.pending.get(clientId);
    if (!p) return false;
    p.el.remove();
    this.pending.delete(clientId!);
    return true;
  }

  private refused(clientId: string, e: Error) {
    const p = this.pending.get(clientId);
    if (!p) return; // the room was left
    this.error.textContent = e.message || "The server refused that.";
    // Not stored: take it out of the list and give the text back to edit.
    p.el.remove();
    this.pending.delete(clientId);
    if (!this.input.value) {
      this.input.value = p.text;
      this.grow();
    }
  }

  private submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    const clientId = newClientId();
    if (new TextEncoder().encode(JSON.stringify({ text, client_id: clientId })).length > MAX_FRAME_BYTES) {
      this.error.textContent = "This message is too long.";
      return;
    }
    const draft: Message = {
      id: 0,
      text,
      user_id: this.me.id,
      room_id: this.roomId,
      created_at: new Date().toISOString(),
    };
    this.pending.set(clientId, { el: this.list.addPending(draft), text });
    // If not connected, it goes out on reconnect.
    this.out.send(text, clientId).then(
      (m) => this.acknowledged(m.client_id), // also when the message came in before as a retry's copy
      (e: Error) => this.refused(clientId, e),
    );
    this.input.value = "";
    this.grow();
    this.error.textContent = "";
    this.lastTypingSent = 0;
    this.list.scrollToEnd();
  }

  private grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 160)}px`;
    this.input.style.overflowY = this.input.scrollHeight > 160 ? "auto" : "hidden";
  }
}
