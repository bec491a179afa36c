// Issue 17's files in the web client, driven in Chromium: a pasted image uploads with a progress bar and shows
// as a scaled preview on the other person's screen (its bytes load under the page's CSP), a PDF attached with
// the button is a chip with its size and a working download link (fresh once the signed URL may have expired),
// a dropped file attaches too, cancel takes a file out or aborts its upload, and the server's refusals (too
// large, quota, too many uploads) show by the composer. alice and bob share a group.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CHROMIUM,
  lastStored,
  msg,
  nextStored,
  openView,
  shown,
  signIn as signInAt,
  until,
  type View,
} from "./support/browser.ts";
import { type Account, call, registerAll } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";
import { every, waitFor } from "./support/waiting.ts";

const haveChromium = needs("chromium", CHROMIUM !== null);

const MAX_FILE = 200 * 1024;
const QUOTA = 1024 * 1024;
const UPLOADS_PER_MINUTE = 12; // the server's clock is frozen: no refill during the suite

describe.skipIf(!haveChromium)("files in a browser", () => {
  let s: TestServer;
  let a: View; // alice, at 127.0.0.1
  let b: View; // bob, at localhost: another origin, so another localStorage
  let alice: Account;
  let bob: Account;
  let room: number;
  const shots = mkdtempSync(join(tmpdir(), "echat-shots-"));

  const js = (v: unknown) => JSON.stringify(v);
  const composerError = (view: View) =>
    view.evaluate(`document.querySelector(".room-view > .form-error").textContent`) as Promise<string>;
  const trayNames = (view: View) =>
    view.evaluate(`[...document.querySelectorAll(".uploads .upload .file-name")].map((e) => e.textContent)`) as Promise<
      string[]
    >;

  const signIn = (view: View, host: string, who: Account) => signInAt(view, s.url, host, who.session, room);

  // Page-side makers of File objects, kept on window: a PNG drawn on a canvas, and bytes of a given type.
  const MAKERS = `(() => {
    window.makePng = (w, h, name) => new Promise((resolve) => {
      const c = document.createElement("canvas");
      c.width = w;
      c.height = h;
      const g = c.getContext("2d");
      g.fillStyle = "#2f6fed";
      g.fillRect(0, 0, w, h);
      g.fillStyle = "#e8a317";
      g.fillRect(w / 4, h / 4, w / 2, h / 2);
      c.toBlob((blob) => resolve(new File([blob], name, { type: "image/png" })), "image/png");
    });
    window.makeFile = (size, name, type) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
      return new File([bytes], name, { type });
    };
    window.transfer = (...files) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(f);
      return dt;
    };
  })()`;

  // Pastes a file into the composer as a screenshot paste does.
  const paste = (view: View, fileExpr: string) =>
    view.evaluate(`(async () => {
      const t = document.getElementById("text");
      t.focus();
      const e = new ClipboardEvent("paste", { clipboardData: transfer(await ${fileExpr}), bubbles: true, cancelable: true });
      t.dispatchEvent(e);
      return e.defaultPrevented;
    })()`) as Promise<boolean>;

  // Picks files with the attach button's file input.
  const pick = (view: View, filesExpr: string) =>
    view.evaluate(`(async () => {
      const input = document.getElementById("attach-input");
      input.files = transfer(...(await Promise.all(${filesExpr}))).files;
      input.dispatchEvent(new Event("change"));
    })()`);

  // Each file in the tray has uploaded: its bar full, marked done.
  const uploaded = (view: View, count: number) =>
    until(
      view,
      `[...document.querySelectorAll(".uploads .upload")].filter((e) => e.classList.contains("uploaded") && e.querySelector("progress").value === 1).length`,
      (n) => n === count,
      10000,
    );

  // Types text (maybe none) and sends with Enter: the stored message's id.
  async function send(view: View, text: string): Promise<number> {
    const before = await lastStored(view);
    await view.evaluate(`(() => {
      const t = document.getElementById("text");
      t.focus();
      t.value = ${js(text)};
      t.dispatchEvent(new Event("input"));
    })()`);
    await view.press("Enter");
    return nextStored(view, before);
  }

  beforeAll(async () => {
    s = await startServer({
      config: { maxFileSize: MAX_FILE, fileQuota: QUOTA, limits: true, uploadsPerMinute: UPLOADS_PER_MINUTE },
    });
    s.clock.freeze();
    [alice, bob] = await registerAll(s.url, ["alice", "bob"] as const);
    const group = await call(s.url, "POST", "/v1/rooms", {
      session: alice.session,
      body: { name: "Photos", users: [{ id: bob.id }] },
    });
    room = group.body.id;
    a = openView();
    b = openView();
    await signIn(a, "127.0.0.1", alice);
    await signIn(b, "localhost", bob);
    for (const view of [a, b]) await view.evaluate(MAKERS);
  }, 30000);

  beforeEach(async () => {
    for (const view of [a, b]) {
      await view.evaluate(`document.querySelector(".room-view > .form-error").textContent = ""`);
      await view.evaluate(`document.querySelectorAll(".upload-cancel").forEach((c) => c.click())`);
    }
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    await s?.stop();
  });

  test("a pasted image uploads with a progress bar, then shows scaled and loaded in bob's view; a click opens it full size", async () => {
    // Progress values as the page shows them, kept from the first one on.
    await a.evaluate(`(() => {
      window.seen = [];
      new MutationObserver((records) => {
        for (const r of records) if (r.target.tagName === "PROGRESS") seen.push(r.target.value);
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["value"] });
    })()`);
    expect(await paste(a, `makePng(640, 480, "screenshot.png")`)).toBe(true);
    await uploaded(a, 1);
    expect(await trayNames(a)).toEqual(["screenshot.png"]);
    expect(await a.evaluate(`seen.at(-1)`)).toBe(1);
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe(""); // the paste put no text there
    const id = await send(a, "look at this");
    expect(await trayNames(a)).toEqual([]);
    await shown(b, id);
    const img = `${msg(id)} .file-preview img`;
    // Scaled into 320 × 240 before any byte arrives, so the list does not move when it loads.
    expect(
      await b.evaluate(
        `[document.querySelector('${img}')].map((i) => [i.getAttribute("width"), i.getAttribute("height"), i.alt])[0]`,
      ),
    ).toEqual(["320", "240", "screenshot.png"]);
    await until(
      b,
      `document.querySelector('${img}').complete && document.querySelector('${img}').naturalWidth`,
      (w) => w === 640,
      10000,
    );
    const link = (await b.evaluate(`(() => {
      const l = document.querySelector('${msg(id)} .file-preview');
      return [l.href === document.querySelector('${img}').src, l.target, l.rel];
    })()`)) as unknown[];
    expect(link).toEqual([true, "_blank", "noopener noreferrer"]);
    expect(await b.evaluate(`document.querySelector('${msg(id)} .text').textContent`)).toBe("look at this");
    // alice's own copy has it too.
    await until(a, `document.querySelector('${msg(id)} .file-preview img')?.naturalWidth`, (w) => w === 640, 10000);
    await Bun.write(join(shots, "files-desktop.png"), await b.screenshot());
    console.log(`screenshots: ${shots}`);
  }, 30000);

  test("a PDF picked with the attach button is a chip with its name, size and a working download link, renewed once expired; no text needed", async () => {
    await pick(a, `[makeFile(3000, "report.pdf", "application/pdf")]`);
    await uploaded(a, 1);
    const id = await send(a, "");
    await shown(b, id);
    const chip = (await b.evaluate(`(() => {
      const c = document.querySelector('${msg(id)} .file-chip');
      return { name: c.querySelector(".file-name").textContent, size: c.querySelector(".file-size").textContent,
        download: c.getAttribute("download"), href: c.href, previews: document.querySelectorAll('${msg(id)} img').length };
    })()`)) as { name: string; size: string; download: string; href: string; previews: number };
    expect(chip).toMatchObject({ name: "report.pdf", size: "2.9 KB", download: "report.pdf", previews: 0 });
    expect(new URL(chip.href).origin).toBe(new URL(s.url.replace("127.0.0.1", "localhost")).origin);
    // The link is the signed URL: it works without the session header, from bob's page.
    const got = (await b.evaluate(`fetch(${js(chip.href)}, { credentials: "omit" }).then(async (r) => ({
      status: r.status, type: r.headers.get("content-type"), bytes: [...new Uint8Array(await r.arrayBuffer())] }))`)) as {
      status: number;
      type: string;
      bytes: number[];
    };
    expect(got.status).toBe(200);
    expect(got.type).toStartWith("application/pdf");
    expect(got.bytes.length).toBe(3000);
    expect(got.bytes.slice(0, 3)).toEqual([7, 38, 69]);
    // An hour later the signed URL has expired: a click fetches the message's fresh URLs, then opens the file.
    const renewed = (await b.evaluate(`(async () => {
      const old = document.querySelector('${msg(id)} .file-chip');
      old.closest(".files").dataset.minted = String(Date.now() - 3600000);
      const opened = new Promise((resolve) =>
        addEventListener("click", function seen(e) {
          const link = e.target.closest?.(".file-chip");
          if (!link || link === old) return;
          e.preventDefault(); // the test's page stays; the href is what would download
          removeEventListener("click", seen, true);
          resolve(link.href);
        }, true));
      old.click();
      const href = await opened;
      return { href, detached: !old.isConnected, now: document.querySelector('${msg(id)} .file-chip').href };
    })()`)) as { href: string; detached: boolean; now: string };
    expect(renewed.detached).toBe(true);
    expect(renewed.href).toBe(renewed.now);
    expect(renewed.href).toContain("/report.pdf?expires=");
    // With no text, the room list names the file.
    expect(await b.evaluate(`document.querySelector('[data-room="${room}"] .last').textContent`)).toBe(
      "alice: File: report.pdf",
    );
  }, 30000);

  test("a file dropped on the room attaches; cancel takes one out and the message goes with the other", async () => {
    const dropped = await a.evaluate(`(async () => {
      const e = new DragEvent("drop", {
        dataTransfer: transfer(makeFile(1000, "notes.txt", "text/plain"), makeFile(1200, "extra.bin", "application/octet-stream")),
        bubbles: true, cancelable: true,
      });
      document.querySelector(".scroller").dispatchEvent(e);
      return e.defaultPrevented;
    })()`);
    expect(dropped).toBe(true);
    await uploaded(a, 2);
    expect(await trayNames(a)).toEqual(["notes.txt", "extra.bin"]);
    await Bun.write(join(shots, "files-composer.png"), await a.screenshot());
    await a.evaluate(`document.querySelectorAll(".upload-cancel")[1].click()`);
    expect(await trayNames(a)).toEqual(["notes.txt"]);
    const id = await send(a, "just the notes");
    await shown(b, id);
    expect(
      await b.evaluate(`[...document.querySelectorAll('${msg(id)} .file-name')].map((e) => e.textContent)`),
    ).toEqual(["notes.txt"]);
  }, 30000);

  test("a file over the size limit is refused by the composer with the reason; nothing is sent", async () => {
    const before = await lastStored(b);
    // 8 MB: refused on its Content-Length before the body is read; the page still gets the answer.
    expect(await paste(a, `makeFile(${MAX_FILE * 40}, "huge.png", "image/png")`)).toBe(true);
    await until(a, `document.querySelector(".room-view > .form-error").textContent`, (t) => !!t, 10000);
    expect(await composerError(a)).toBe("“huge.png” is too large to upload.");
    expect(await trayNames(a)).toEqual([]);
    // Sending now sends only the text.
    const id = await send(a, "never mind");
    await shown(b, id);
    expect(id).toBeGreaterThan(before);
    expect(await b.evaluate(`document.querySelectorAll('${msg(id)} .files > *').length`)).toBe(0);
  }, 30000);

  test("past the quota the composer says so", async () => {
    // bob has uploaded nothing yet: five near-limit files fill his quota, the sixth goes over.
    const part = (i: number) => `makeFile(${MAX_FILE - 10}, "part${i}.bin", "application/octet-stream")`;
    await pick(b, `[${[0, 1, 2, 3, 4].map(part).join(", ")}]`);
    await uploaded(b, 5);
    await pick(b, `[${part(5)}]`);
    await until(b, `document.querySelector(".room-view > .form-error").textContent`, (t) => !!t, 10000);
    expect(await composerError(b)).toBe("“part5.bin” was not uploaded: your storage quota is full.");
    expect(await trayNames(b)).toEqual([0, 1, 2, 3, 4].map((i) => `part${i}.bin`));
  }, 30000);

  test("cancel while a file uploads aborts it: no error, and the message goes without it", async () => {
    const cancelled = await a.evaluate(`(async () => {
      const t = document.getElementById("text");
      t.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer(makeFile(150000, "oops.bin", "")), bubbles: true }));
      const item = document.querySelector(".uploads .upload");
      const running = !item.classList.contains("uploaded");
      item.querySelector(".upload-cancel").click(); // in the same task: before any byte went
      return running && document.querySelectorAll(".uploads .upload").length === 0;
    })()`);
    expect(cancelled).toBe(true);
    const id = await send(a, "no file after all");
    await shown(b, id);
    expect(await b.evaluate(`document.querySelectorAll('${msg(id)} .files > *').length`)).toBe(0);
    expect(await composerError(a)).toBe("");
  }, 30000);

  test("too many uploads in a minute: the composer says when to try again", async () => {
    // bob's uploads so far count; each further one waits for the one before, until the server refuses one.
    let error = "";
    for (let i = 0; i < UPLOADS_PER_MINUTE && !error; i++) {
      const before = (await trayNames(b)).length;
      await pick(b, `[makeFile(100, "small${i}.txt", "text/plain")]`);
      await until(
        b,
        `document.querySelector(".room-view > .form-error").textContent || document.querySelectorAll(".uploads .upload.uploaded").length === ${before + 1}`,
        Boolean,
        10000,
      );
      error = await composerError(b);
    }
    expect(error).toMatch(/^Too many uploads: try “small\d+\.txt” again in \d+ s\.$/);
  }, 30000);

  test("a member leaving makes every file link on screen fetch fresh URLs when clicked", async () => {
    const [carol] = await registerAll(s.url, ["carol"] as const);
    const minted = `[...document.querySelectorAll(".files")].map((e) => e.dataset.minted)`;
    expect(((await b.evaluate(minted)) as string[]).filter((m) => m === "0")).toEqual([]);
    await call(s.url, "POST", `/v1/rooms/${room}/users`, {
      session: alice.session,
      body: { users: [{ id: carol.id }] },
    });
    // Frames come in order: bob's page has carol as a member when her removal arrives.
    await call(s.url, "DELETE", `/v1/rooms/${room}/users/${carol.id}`, { session: alice.session });
    await until<string[]>(b, minted, (all) => all.length > 0 && all.every((m) => m === "0"), 10000);
  }, 30000);

  test("a message refused for its files (attached meanwhile from elsewhere) gives the text and files back", async () => {
    await paste(a, `makeFile(500, "twice.txt", "text/plain")`);
    await uploaded(a, 1);
    const fileId = await a.evaluate(`document.querySelector(".uploads .upload").dataset.file`);
    // alice's other device attaches it first.
    const other = await Socket.open(chatUrl(s, room, alice));
    other.send({ text: "from my phone", client_id: "phone-1", files: [fileId] });
    const first = (await other.next((f) => f.client_id === "phone-1")).id as number;
    await other.close();
    await shown(a, first);
    await a.evaluate(`(() => {
      const t = document.getElementById("text");
      t.value = "from the laptop";
      t.dispatchEvent(new Event("input"));
    })()`);
    await a.press("Enter");
    await until(a, `document.querySelector(".room-view > .form-error").textContent`, (t) => !!t, 10000);
    expect(await composerError(a)).toContain("files must be");
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe("from the laptop");
    expect(await trayNames(a)).toEqual(["twice.txt"]);
    expect(await a.evaluate(`document.querySelectorAll(".msg.pending").length`)).toBe(0);
  }, 30000);

  test("each page still holds one WebSocket, its user stream", async () => {
    // The room socket of the test before is gone once the server has seen it close.
    const open = async () => /^echat_websockets_open (\d+)$/m.exec((await call(s.url, "GET", "/metrics")).body)?.[1];
    expect(await waitFor(async () => ((await open()) === "2" ? "2" : undefined), 5000, every(40))).toBe("2");
  }, 30000);
});
