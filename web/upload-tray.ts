// The files picked, dropped or pasted into the composer: each uploads at once, shown with its name, a
// progress bar and a cancel button (which aborts the upload, or takes a finished one out). Send claims the
// files in the tray and waits for their uploads; the message goes out with the ids of those that made it.
// Uploads go through the typed client (XMLHttpRequest in a browser, for its upload progress).
import { ApiError } from "../client/index.ts";
import { type Attachment, humanSize } from "./attachment.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";

type Upload = { done: Promise<Attachment>; abort(): void }; // done rejects with an AbortError once aborted

type Item = {
  el: HTMLElement;
  bar: HTMLProgressElement;
  done: Promise<Attachment | null>; // null: cancelled or failed (a failure is reported when it happens)
  failed: boolean;
  abort(): void;
};

export class UploadTray {
  readonly el = h("ul", { class: "uploads", "aria-label": "Attachments" });
  private items: Item[] = [];

  constructor(
    private roomId: number,
    private report: (text: string) => void,
  ) {
    this.el.hidden = true;
  }

  get count() {
    return this.items.length;
  }

  add(files: Iterable<File>) {
    for (const file of files) this.start(file);
  }

  // A refused message's files, back in the tray to send again.
  restore(files: Attachment[]) {
    for (const f of files) this.show(f.name, f.size, { done: Promise.resolve(f), abort() {} }).bar.value = 1;
  }

  // Every file now in the tray, once uploaded: the tray is emptied as each finishes. failed: one of them
  // could not be uploaded (cancelled ones are just left out).
  async take(): Promise<{ files: Attachment[]; failed: boolean }> {
    const claimed = this.items.splice(0);
    for (const item of claimed) item.el.classList.add("sending");
    const files = await Promise.all(claimed.map((item) => item.done.finally(() => item.el.remove())));
    this.el.hidden = this.el.childElementCount === 0;
    return { files: files.filter((f) => f !== null), failed: claimed.some((i) => i.failed) };
  }

  // Leaving the room: uploads still running stop.
  clear() {
    for (const item of this.items.splice(0)) item.abort();
  }

  private start(file: File) {
    let item: Item | undefined;
    const stop = new AbortController();
    const name = file.name || "file";
    const onProgress = (sent: number, total: number) => {
      if (item) item.bar.value = total ? sent / total : 0;
    };
    const done = client.uploadFile(this.roomId, file, { name, onProgress, signal: stop.signal });
    item = this.show(name, file.size, { done, abort: () => stop.abort() });
    const it = item;
    it.done = it.done.catch((e: Error) => {
      if (e.name !== "AbortError") {
        it.failed = true;
        this.report(uploadError(file.name, e));
      }
      this.drop(it);
      return null;
    });
  }

  private show(name: string, size: number, up: Upload): Item {
    const bar = h("progress", { max: "1", value: "0", "aria-label": `Uploading ${name}` });
    const cancel = h("button", { type: "button", class: "upload-cancel", "aria-label": `Remove ${name}` }, "×");
    const el = h(
      "li",
      { class: "upload" },
      h("span", { class: "file-name" }, name),
      h("span", { class: "file-size" }, humanSize(size)),
      bar,
      cancel,
    );
    const item: Item = { el, bar, done: up.done, failed: false, abort: () => up.abort() };
    up.done
      .then((f) => {
        el.classList.add("uploaded");
        el.dataset.file = f.id;
      })
      .catch(() => {});
    cancel.onclick = () => {
      up.abort();
      this.drop(item);
    };
    this.items.push(item);
    this.el.append(el);
    this.el.hidden = false;
    return item;
  }

  private drop(item: Item) {
    const i = this.items.indexOf(item);
    if (i >= 0) this.items.splice(i, 1);
    item.el.remove();
    this.el.hidden = this.el.childElementCount === 0;
  }
}

function uploadError(name: string, e: Error): string {
  const code: string = e instanceof ApiError ? e.code : ""; // quota_exceeded: newer than some clients
  const file = `“${name || "file"}”`;
  if (code === "payload_too_large") return `${file} is too large to upload.`;
  if (code === "quota_exceeded") return `${file} was not uploaded: your storage quota is full.`;
  if (code === "rate_limited") {
    const wait = (e as ApiError).retryAfter;
    return `Too many uploads: try ${file} again${wait ? ` in ${wait} s` : " later"}.`;
  }
  return `${file} was not uploaded: ${e.message}`;
}
