// Writing and sending: each message goes out with its own client_id and shows as pending until the
// server's copy comes back; unacknowledged ones go out again on reconnect (the server stores each
// once); a refused one comes back to the input to edit. Writing also tells the room you are typing.
import { type Message, newClientId, type User } from "../client/index.ts";
import { h } from "./dom.ts";
import type { MessageList } from "./message-list.ts";
import type { Frame } from "./socket.ts";

const TYPING_EVERY_MS = 2000;
const MAX_FRAME_BYTES = 60 * 1024; // the server closes the socket on frames over 64 KiB

type Pending = { el: HTMLElement; text: string };

export class Composer {
  readonly form: HTMLFormElement;
  readonly error = h("p", { class: "form-error", role: "alert" });
  private input = h("textarea", { id: "text", rows: "1", placeholder: "Write a message", "aria-label": "Message" });
  private pending = new Map<string, Pending>();
  private lastTypingSent = 0;

  // send: false or undefined while the socket is not open.
  constructor(
    private me: User,
    private roomId: number,
    private list: MessageList,
    private send: (frame: Frame) => boolean | undefined,
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
      if (Date.now() - this.lastTypingSent > TYPING_EVERY_MS && this.send({ type: "typing" }))
        this.lastTypingSent = Date.now();
    };
  }

  focus() {
    this.input.focus();
  }

  showError(text: string) {
    this.error.textContent = text;
  }

  // Unacknowledged sends go out again with the same client_id.
  resend() {
    for (const [clientId, p] of this.pending) this.send({ text: p.text, client_id: clientId });
  }

  // The server's copy of a message: true when it was one of ours, no longer pending.
  acknowledged(clientId: string | undefined): boolean {
    const p = clientId === undefined ? undefined : this.pending.get(clientId);
    if (!p) return false;
    p.el.remove();
    this.pending.delete(clientId!);
    return true;
  }

  refused(f: Frame) {
    this.error.textContent = f.error.message ?? "The server refused that.";
    const p = f.client_id && this.pending.get(f.client_id);
    if (!p) return;
    // Not stored: take it out of the list and give the text back to edit.
    p.el.remove();
    this.pending.delete(f.client_id);
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
    this.send({ text, client_id: clientId }); // if closed, it goes out on reconnect
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
