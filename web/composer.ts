// Writing and sending: each message goes out with its own client_id and shows as pending until the
// server's copy comes back (the room socket of client/ sends it again on every reconnect until then; the
// server stores it once); a refused one comes back to the input to edit. Writing also tells the room you
// are typing. The composer also answers a message (reply, quoted above it), edits one (↑ in an empty
// composer edits your last), and completes @mentions of members. Files (attach button, drop, paste) upload
// while the message is written; it goes out with them once they are up (its text may then be empty).
import { type Message, newClientId, type User } from "../client/index.ts";
import type { Attachment } from "./attachment.ts";
import { gist } from "./bubble.ts";
import { h } from "./dom.ts";
import { MentionComplete } from "./mention-complete.ts";
import type { MessageList } from "./message-list.ts";
import { UploadTray } from "./upload-tray.ts";

// send: resolves with the stored message, rejects with the refusal. typing: false while not connected.
// edit: resolves once the server took the new text. lastMine: the message ↑ edits. others: who @ completes.
export type Outgoing = {
  send(text: string, clientId: string, replyTo?: number, files?: string[]): Promise<Message>;
  typing(): boolean;
  edit(m: Message, text: string): Promise<void>;
  lastMine(): Message | undefined;
  others(): User[];
  name(userId: number): string;
};
type Mode = { kind: "reply" | "edit"; m: Message } | null;

const TYPING_EVERY_MS = 2000;
const MAX_FRAME_BYTES = 60 * 1024; // the server closes the socket on frames over 64 KiB

type Pending = { el: HTMLElement; text: string; files: Attachment[] };

export class Composer {
  readonly form: HTMLFormElement;
  readonly error = h("p", { class: "form-error", role: "alert" });
  private input = h("textarea", { id: "text", rows: "1", placeholder: "Write a message", "aria-label": "Message" });
  private pending = new Map<string, Pending>();
  private lastTypingSent = 0;
  private mode: Mode = null;
  private banner = h("div", { class: "composing" });
  private mentions: MentionComplete;
  private tray: UploadTray;

  constructor(
    private me: User,
    private roomId: number,
    private list: MessageList,
    private out: Outgoing,
  ) {
    this.mentions = new MentionComplete(this.input, () => out.others());
    this.banner.hidden = true;
    this.tray = new UploadTray(roomId, (text) => this.showError(text));
    this.form = h(
      "form",
      { class: "composer", id: "composer" },
      this.mentions.list,
      this.banner,
      this.tray.el,
      h(
        "div",
        { class: "composer-row" },
        this.attachButton(),
        this.input,
        h("button", { type: "submit", class: "primary" }, "Send"),
      ),
    );
    this.form.onsubmit = (e) => {
      e.preventDefault();
      void this.submit();
    };
    this.input.onkeydown = (e) => this.keydown(e);
    this.input.oninput = () => {
      this.grow();
      this.error.textContent = "";
      this.mentions.update();
      if (this.mode?.kind === "edit") return; // an edit is not typing a new message
      if (Date.now() - this.lastTypingSent > TYPING_EVERY_MS && this.out.typing()) this.lastTypingSent = Date.now();
    };
    this.input.onclick = () => this.mentions.update();
    this.input.onpaste = (e) => this.pasted(e);
    this.input.onblur = () => this.mentions.close();
  }

  // Answering m: quoted above the text until sent or cancelled.
  replyTo(m: Message) {
    if (this.mode?.kind === "edit") this.input.value = "";
    this.setMode({ kind: "reply", m });
    this.focus();
  }

  // Editing m: its text in the input; Enter saves, Escape cancels.
  edit(m: Message) {
    this.setMode({ kind: "edit", m });
    this.input.value = m.text;
    this.grow();
    this.focus();
    this.input.setSelectionRange(m.text.length, m.text.length);
  }

  // A message gone while being answered or edited.
  removed(id: number) {
    if (this.mode?.m.id !== id) return;
    if (this.mode.kind === "edit") this.input.value = "";
    this.setMode(null);
  }

  private keydown(e: KeyboardEvent) {
    if (e.isComposing || this.mentions.keydown(e)) return;
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      void this.submit();
    } else if (e.key === "Escape" && this.mode) {
      e.preventDefault();
      this.cancel();
    } else if (e.key === "ArrowUp" && !this.input.value) {
      const last = this.out.lastMine();
      if (!last) return;
      e.preventDefault();
      this.edit(last);
    }
  }

  private cancel() {
    if (this.mode?.kind === "edit") this.input.value = "";
    this.setMode(null);
    this.grow();
  }

  private setMode(mode: Mode) {
    this.mode = mode;
    this.banner.hidden = !mode;
    this.form.dataset.mode = mode?.kind ?? "";
    if (!mode) return this.banner.replaceChildren();
    const cancel = h("button", { type: "button", class: "cancel-mode", "aria-label": "Cancel" }, "×");
    cancel.onclick = () => (this.cancel(), this.focus());
    const who = mode.m.user_id === this.me.id ? "yourself" : this.out.name(mode.m.user_id);
    const label = mode.kind === "edit" ? "Editing your message" : `Replying to ${who}`;
    this.banner.replaceChildren(
      h("span", { class: "composing-label" }, label),
      mode.kind === "reply" ? h("span", { class: "quote-text" }, gist(mode.m)) : "",
      cancel,
    );
  }

  focus() {
    this.input.focus();
  }

  // Files dropped anywhere on el (the room) are attached; the browser does not open them instead.
  acceptDrops(el: HTMLElement) {
    const carriesFiles = (e: DragEvent) => !!e.dataTransfer?.types.includes("Files");
    el.addEventListener("dragover", (e) => {
      if (!carriesFiles(e) || this.form.hidden) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = "copy";
      this.form.classList.add("drop-here");
    });
    el.addEventListener("dragleave", (e) => {
      if (!el.contains(e.relatedTarget as Node | null)) this.form.classList.remove("drop-here");
    });
    el.addEventListener("drop", (e) => {
      this.form.classList.remove("drop-here");
      if (!carriesFiles(e) || this.form.hidden) return;
      e.preventDefault();
      this.attach(e.dataTransfer!.files);
    });
  }

  // Leaving the room: uploads still running stop.
  close() {
    this.tray.clear();
  }

  private attachButton(): HTMLElement {
    const picker = h("input", { type: "file", multiple: true, hidden: true, id: "attach-input" });
    picker.onchange = () => {
      if (picker.files) this.attach(picker.files);
      picker.value = "";
    };
    const label = "Attach files";
    const button = h("button", { type: "button", class: "attach", "aria-label": label, title: label }, "+");
    button.onclick = () => picker.click();
    return h("span", { class: "attach-wrap" }, button, picker);
  }

  // Pasted files (a screenshot) are attached; pasted text stays text.
  private pasted(e: ClipboardEvent) {
    const files = e.clipboardData?.files;
    if (!files?.length) return;
    e.preventDefault();
    this.attach(files);
  }

  private attach(files: FileList) {
    this.error.textContent = "";
    this.tray.add([...files]);
    this.focus();
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
    // Not stored: take it out of the list and give the text (and files) back to edit.
    p.el.remove();
    this.pending.delete(clientId);
    this.giveBack(p.text, p.files);
  }

  private giveBack(text: string, files: Attachment[] = []) {
    this.tray.restore(files);
    if (this.input.value) return;
    this.input.value = text;
    this.grow();
  }

  // The text goes now; the files in the tray are claimed and the message waits for their uploads.
  private async submit() {
    const text = this.input.value;
    if (!text.trim() && !this.tray.count) return;
    if (this.mode?.kind === "edit") return this.saveEdit(this.mode.m, text);
    const replyTo = this.mode?.kind === "reply" ? this.mode.m.id : undefined;
    const clientId = newClientId();
    if (new TextEncoder().encode(JSON.stringify({ text, client_id: clientId })).length > MAX_FRAME_BYTES) {
      this.error.textContent = "This message is too long.";
      return;
    }
    this.setMode(null);
    this.input.value = "";
    this.grow();
    this.error.textContent = "";
    this.lastTypingSent = 0;
    const { files, failed } = await this.tray.take();
    if (failed) return this.giveBack(text, files); // the error is shown; the rest waits for another try
    if (!text.trim() && !files.length) return; // every file was cancelled
    this.send(text, clientId, replyTo, files);
  }

  private send(text: string, clientId: string, replyTo: number | undefined, files: Attachment[]) {
    const draft: Message = {
      id: 0,
      text,
      user_id: this.me.id,
      room_id: this.roomId,
      created_at: new Date().toISOString(),
      ...(replyTo ? { reply_to: replyTo } : {}),
      ...(files.length ? { files } : {}),
    };
    this.pending.set(clientId, { el: this.list.addPending(draft), text, files });
    const ids = files.length ? files.map((f) => f.id) : undefined;
    // If not connected, it goes out on reconnect.
    this.out.send(text, clientId, replyTo, ids).then(
      (m) => this.acknowledged(m.client_id), // also when the message came in before as a retry's copy
      (e: Error) => this.refused(clientId, e),
    );
    this.list.scrollToEnd();
  }

  private saveEdit(m: Message, text: string) {
    this.setMode(null);
    this.input.value = "";
    this.grow();
    if (text === m.text) return;
    this.out.edit(m, text).catch((e: Error) => {
      this.error.textContent = e.message;
      if (this.input.value || this.mode) return;
      this.setMode({ kind: "edit", m }); // back to the input to try again
      this.input.value = text;
      this.grow();
    });
  }

  private grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 160)}px`;
    this.input.style.overflowY = this.input.scrollHeight > 160 ? "auto" : "hidden";
  }
}
