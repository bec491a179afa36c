// Issue 16's messages in the web client, driven in Chromium: formatting and links rendered as DOM nodes (and
// XSS attempts through each construct rendered as text), @mentions completed and highlighted, replies quoted
// (a click jumps to the original, loading the history around it), edits (↑ and the menu), deletes after a
// confirmation, reactions, and message search opening the room at the result. alice owns a group with bob
// and carol; carol speaks through a room socket.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CHROMIUM,
  gone,
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

// Every element the renderer makes inside a message's text; anything else got in from the text.
const ALLOWED = ["STRONG", "EM", "CODE", "PRE", "A", "SPAN", "MARK"];

describe.skipIf(!haveChromium)("messages in a browser", () => {
  let s: TestServer;
  let a: View; // alice, at 127.0.0.1
  let b: View; // bob, at localhost: another origin, so another localStorage
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let room: number;
  let carolSocket: Socket;
  const shots = mkdtempSync(join(tmpdir(), "echat-shots-"));

  const js = (v: unknown) => JSON.stringify(v);
  const textOf = (view: View, id: number) =>
    view.evaluate(`document.querySelector('${msg(id)} .text')?.textContent`) as Promise<string>;

  const signIn = (view: View, host: string, who: Account) => signInAt(view, s.url, host, who.session, room);

  // Puts text in the composer as typed (multi-line too) and sends it: the stored message's id.
  async function say(view: View, text: string): Promise<number> {
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

  const carolSays = async (texts: string[], extra: Record<string, unknown> = {}) => {
    const tag = crypto.randomUUID().slice(0, 8);
    texts.forEach((text, i) => carolSocket.send({ text, client_id: `${tag}-${i}`, ...extra }));
    const acks = [];
    for (let i = 0; i < texts.length; i++) acks.push(await carolSocket.next((f) => f.client_id === `${tag}-${i}`));
    return acks.map((m) => m.id as number);
  };

  // The elements rendered inside a message's text, and whether any carries an on* attribute or a non-http link.
  const rendered = (view: View, id: number) =>
    view.evaluate(`(() => {
      const els = [...document.querySelectorAll('${msg(id)} .text *')];
      return {
        tags: els.map((e) => e.tagName),
        handlers: els.some((e) => [...e.attributes].some((at) => /^on/i.test(at.name))),
        hrefs: [...document.querySelectorAll('${msg(id)} .text a')].map((e) => e.getAttribute("href")),
        text: document.querySelector('${msg(id)} .text').textContent,
      };
    })()`) as Promise<{ tags: string[]; handlers: boolean; hrefs: string[]; text: string }>;

  async function openMenu(view: View, id: number) {
    await view.evaluate(`document.querySelector('${msg(id)} .msg-menu').click()`);
    await until(view, `!!document.querySelector('${msg(id)} .menu')`);
  }

  beforeAll(async () => {
    s = await startServer();
    [alice, bob, carol] = await registerAll(s.url, ["alice", "bob", "carol"] as const);
    const group = await call(s.url, "POST", "/v1/rooms", {
      session: alice.session,
      body: { name: "Kitchen", users: [{ id: bob.id }, { id: carol.id }] },
    });
    room = group.body.id;
    carolSocket = await Socket.open(chatUrl(s, room, carol));
    a = openView();
    b = openView();
    await signIn(a, "127.0.0.1", alice);
    await signIn(b, "localhost", bob);
  }, 30000);

  // Each test starts with both in the room, whatever the one before did.
  beforeEach(async () => {
    for (const view of [a, b]) {
      if ((await view.evaluate("location.hash")) !== `#room/${room}`)
        await view.evaluate(`location.hash = "#room/${room}"`);
      await until(view, `document.querySelector(".room-view")?.dataset.state === "open"`, undefined, 10000);
      await view.evaluate(`document.querySelector(".cancel-mode:not([hidden])")?.click()`);
    }
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    await carolSocket?.close();
    await s?.stop();
  });

  test("bold, italic, code and links typed by alice are elements on bob's screen; links open apart from the page", async () => {
    const id = await say(
      a,
      "**bold** and _it_ with `x < y` see https://example.com/a?b=1. or [the docs](https://example.com/docs)",
    );
    await shown(b, id);
    const r = await rendered(b, id);
    expect(r.tags).toEqual(["STRONG", "EM", "CODE", "A", "A"]);
    expect(r.text).toBe("bold and it with x < y see https://example.com/a?b=1. or the docs");
    const links = (await b.evaluate(
      `[...document.querySelectorAll('${msg(id)} .text a')].map((e) => [e.href, e.target, e.rel, e.textContent])`,
    )) as string[][];
    expect(links).toEqual([
      ["https://example.com/a?b=1", "_blank", "noopener noreferrer", "https://example.com/a?b=1"],
      ["https://example.com/docs", "_blank", "noopener noreferrer", "the docs"],
    ]);
  }, 30000);

  test("a fenced code block is one pre with its text as typed, markup and HTML included", async () => {
    const id = await say(a, "look:\n```\n<b>not bold</b> **nor this**\n  indented\n```\ndone");
    await shown(b, id);
    const r = await rendered(b, id);
    expect(r.tags).toEqual(["PRE", "CODE"]);
    expect(await b.evaluate(`document.querySelector('${msg(id)} pre').textContent`)).toBe(
      "<b>not bold</b> **nor this**\n  indented",
    );
  }, 30000);

  test("XSS attempts through a javascript: link, HTML in code blocks, HTML in text and a link's label render as text", async () => {
    await b.evaluate(`window.__xss = 0`);
    const attempts = [
      "[click me](javascript:window.__xss=1)",
      "[x](JaVaScRiPt:window.__xss=1) [y](data:text/html,<script>window.__xss=1</script>)",
      "```\n<img src=x onerror=window.__xss=1><script>window.__xss=1</script>\n```",
      "`<img src=x onerror=window.__xss=1>`",
      "<img src=x onerror=window.__xss=1> <script>window.__xss=1</script> <a href=javascript:window.__xss=1>a</a>",
      "[<img src=x onerror=window.__xss=1>](https://example.com/label)",
      "**<svg onload=window.__xss=1>** _<iframe src=javascript:window.__xss=1>_",
    ];
    const ids = await carolSays(attempts);
    for (const id of ids) await shown(b, id);
    const expected = [
      { tags: [], text: attempts[0]!, hrefs: [] },
      { tags: [], text: attempts[1]!, hrefs: [] },
      { tags: ["PRE", "CODE"], text: "<img src=x onerror=window.__xss=1><script>window.__xss=1</script>", hrefs: [] },
      { tags: ["CODE"], text: "<img src=x onerror=window.__xss=1>", hrefs: [] },
      { tags: [], text: attempts[4]!, hrefs: [] },
      { tags: ["A"], text: "<img src=x onerror=window.__xss=1>", hrefs: ["https://example.com/label"] },
      { tags: ["STRONG", "EM"], text: "<svg onload=window.__xss=1> <iframe src=javascript:window.__xss=1>", hrefs: [] },
    ];
    for (const [i, id] of ids.entries()) {
      const r = await rendered(b, id);
      expect({ tags: r.tags, text: r.text, hrefs: r.hrefs }).toEqual(expected[i]!);
      expect(r.tags.every((t) => ALLOWED.includes(t))).toBe(true);
      expect(r.handlers).toBe(false);
    }
    expect(
      await b.evaluate(
        `document.querySelectorAll(".messages img, .messages script, .messages svg, .messages iframe").length`,
      ),
    ).toBe(0);
    expect(await b.evaluate(`window.__xss`)).toBe(0);
  }, 30000);

  test("@ completes members' logins in the composer; the mention is highlighted, for bob as his own", async () => {
    const before = await lastStored(a);
    await a.click("#text");
    await a.type("@b");
    expect(
      await until<string[]>(
        a,
        `[...document.querySelectorAll(".mention-options li")].map((e) => e.textContent)`,
        (l) => l.length > 0,
      ),
    ).toEqual(["@bob"]);
    await a.press("Enter");
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe("@bob ");
    expect(await a.evaluate(`document.querySelector(".mention-options").hidden`)).toBe(true);
    await a.type("the soup is ready");
    await a.press("Enter");
    const id = await nextStored(a, before);
    await shown(b, id);
    expect(await textOf(b, id)).toBe("@bob the soup is ready");
    expect(await b.evaluate(`document.querySelector('${msg(id)} .mention.me')?.textContent`)).toBe("@bob");
    expect(await b.evaluate(`document.querySelector('${msg(id)}').classList.contains("mentions-me")`)).toBe(true);
    expect(await a.evaluate(`document.querySelector('${msg(id)} .mention')?.className`)).toBe("mention");
  }, 30000);

  test("a mention of bob while he is elsewhere counts on his room list", async () => {
    const mentions = async () =>
      (await call(s.url, "GET", "/v1/rooms", { session: bob.session })).body.find((r: any) => r.id === room).mentions;
    const noneUnread = () => waitFor(async () => ((await mentions()) === 0 ? true : undefined), 8000, every(40));
    await noneUnread(); // the mention before was seen: bob's read marker went out
    await b.evaluate(`location.hash = ""`);
    await until(b, `!document.querySelector(".room-view")`);
    await carolSays(["@bob, taste it?"]);
    expect(
      await until(
        b,
        `document.querySelector('.room-item[data-room="${room}"] .mentions')?.textContent`,
        undefined,
        10000,
      ),
    ).toBe("@1");
    await b.evaluate(`location.hash = "#room/${room}"`);
    await until(b, `document.querySelector(".room-view")?.dataset.state === "open"`);
    // Read there, the count goes with the read marker (the user stream's read frame carries it).
    await until(b, `!!document.querySelector(".msg.mentions-me:last-of-type")`);
    await noneUnread();
    await b.evaluate(`location.hash = ""`);
    await until(b, `!!document.querySelector('.room-item[data-room="${room}"]')`);
    expect(await b.evaluate(`!!document.querySelector('.room-item[data-room="${room}"] .mentions')`)).toBe(false);
    await b.evaluate(`location.hash = "#room/${room}"`);
    await until(b, `document.querySelector(".room-view")?.dataset.state === "open"`);
  }, 30000);

  test("bob replies from the menu: the quote is above the composer, then above his message; a click on it marks the original", async () => {
    const original = await say(a, "who brings bread?");
    await shown(b, original);
    await openMenu(b, original);
    await b.click(`${msg(original)} .menu-reply`);
    expect(await until(b, `document.querySelector(".composing")?.textContent`)).toContain("Replying to alice");
    expect(await b.evaluate(`document.querySelector(".composing .quote-text").textContent`)).toBe("who brings bread?");
    await b.type("I do");
    await b.press("Enter");
    const reply = await nextStored(b, original);
    expect(await b.evaluate(`document.querySelector(".composing").hidden`)).toBe(true);
    for (const view of [a, b]) {
      await shown(view, reply);
      expect(await until(view, `document.querySelector('${msg(reply)} .reply-quote')?.textContent`)).toBe(
        "alicewho brings bread?",
      );
    }
    const stored = await call(s.url, "GET", `/v1/rooms/${room}/messages?after=${original}`, { session: bob.session });
    expect(stored.body.find((m: any) => m.id === reply)?.reply_to).toBe(original);
    await a.evaluate(`document.querySelector('${msg(reply)} .reply-quote').click()`);
    await until(a, `document.querySelector('${msg(original)}').classList.contains("target")`);
  }, 30000);

  test("a reply to a message far back quotes it, and the click loads the history around it; newer pages follow on demand", async () => {
    const [origin] = await carolSays(["the old recipe: tomato, basil and garlic"]);
    await carolSays(Array.from({ length: 60 }, (_, i) => `filler ${i}`));
    const [reply] = await carolSays(["as I said"], { reply_to: origin });
    await shown(b, reply!);
    await b.evaluate(`location.hash = ""`);
    await until(b, `!document.querySelector(".room-view")`);
    await b.evaluate(`location.hash = "#room/${room}"`); // reopened: the latest page only
    await shown(b, reply!);
    expect(await b.evaluate(`!!document.querySelector('${msg(origin!)}')`)).toBe(false);
    expect(
      await until(b, `document.querySelector('${msg(reply!)} .quote-text')?.textContent`, (t) => t !== "A message"),
    ).toBe("the old recipe: tomato, basil and garlic");
    await b.evaluate(`document.querySelector('${msg(reply!)} .reply-quote').click()`);
    await until(b, `document.querySelector('${msg(origin!)}')?.classList.contains("target")`);
    expect(await b.evaluate(`document.querySelector(".newer").hidden`)).toBe(false);
    const [live] = await carolSays(["new while bob reads back"]); // waits aside, not below the old page
    await b.evaluate(`document.querySelector(".newer").click()`);
    await shown(b, live!);
    await shown(b, reply!);
    expect(await b.evaluate(`document.querySelector(".newer").hidden`)).toBe(true);
  }, 30000);

  test("↑ in an empty composer edits alice's last message; both see the new text marked edited", async () => {
    const id = await say(a, "dinner at 7");
    await shown(b, id);
    await a.click("#text");
    await a.press("ArrowUp");
    expect(await until(a, `document.querySelector(".composing")?.textContent`)).toContain("Editing your message");
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe("dinner at 7");
    await a.press("Backspace");
    await a.type("8");
    await a.press("Enter");
    for (const view of [a, b]) {
      await until(view, `document.querySelector('${msg(id)} .text')?.textContent === "dinner at 8"`);
      expect(await view.evaluate(`document.querySelector('${msg(id)} .edited').textContent`)).toBe("edited");
    }
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe("");
  }, 30000);

  test("editing from the menu; Escape cancels; bob's menu on alice's message has neither edit nor delete", async () => {
    const id = await say(a, "bring **cheese**");
    await openMenu(a, id);
    await a.click(`${msg(id)} .menu-edit`);
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe("bring **cheese**");
    await a.press("Escape");
    expect(await a.evaluate(`document.querySelector(".composing").hidden`)).toBe(true);
    expect(await a.evaluate(`document.getElementById("text").value`)).toBe("");
    await openMenu(a, id);
    await a.click(`${msg(id)} .menu-edit`);
    await a.evaluate(
      `(() => { const t = document.getElementById("text"); t.value = "bring **wine**"; t.dispatchEvent(new Event("input")); })()`,
    );
    await a.press("Enter");
    await shown(b, id);
    await until(b, `document.querySelector('${msg(id)} .text strong')?.textContent === "wine"`);
    await openMenu(b, id);
    expect(
      await b.evaluate(`[...document.querySelectorAll('${msg(id)} .menu button')].map((e) => e.textContent)`),
    ).toEqual(["Reply", "React"]);
    expect(await b.evaluate(`document.activeElement.textContent`)).toBe("Reply"); // the menu takes the keyboard
    await b.press("ArrowDown");
    expect(await b.evaluate(`document.activeElement.textContent`)).toBe("React");
    await b.press("Escape");
    await until(b, `!document.querySelector('${msg(id)} .menu')`);
    expect(await b.evaluate(`document.activeElement.className`)).toBe("msg-menu");
  }, 30000);

  test("delete asks first; then the message goes from both screens; the group's owner may delete bob's", async () => {
    const id = await say(a, "oops, wrong room");
    await shown(b, id);
    await openMenu(a, id);
    await a.click(`${msg(id)} .menu-delete`);
    expect(await a.evaluate(`document.querySelector('${msg(id)} .menu').textContent`)).toContain("Delete this message");
    await a.click(`${msg(id)} .cancel-delete`);
    await until(a, `!document.querySelector('${msg(id)} .menu')`);
    expect(await textOf(b, id)).toBe("oops, wrong room");

    await openMenu(a, id);
    await a.click(`${msg(id)} .menu-delete`);
    await a.click(`${msg(id)} .confirm-delete`);
    await gone(a, id);
    await gone(b, id);

    const bobs = await say(b, "spam");
    await shown(a, bobs);
    await openMenu(a, bobs);
    await a.click(`${msg(bobs)} .menu-delete`);
    await a.click(`${msg(bobs)} .confirm-delete`);
    await gone(b, bobs);
    const history = await call(s.url, "GET", `/v1/rooms/${room}/messages?after=${id - 1}`, { session: bob.session });
    expect(history.body.map((m: any) => m.id)).not.toContain(id);
  }, 30000);

  test("reactions: picked from the menu or typed, shown as chips with counts and who reacted; a chip toggles", async () => {
    const id = await say(a, "cake is done");
    await shown(b, id);
    await openMenu(b, id);
    await b.click(`${msg(id)} .menu-react`);
    await b.click(`${msg(id)} .pick`); // the first common emoji: 👍
    const chip = (emoji: string) => `document.querySelector('${msg(id)} .reaction[data-emoji="${emoji}"]')`;
    for (const view of [a, b]) await until(view, `${chip("👍")}?.textContent === "👍1"`);
    expect(await b.evaluate(`${chip("👍")}.getAttribute("aria-pressed")`)).toBe("true");
    expect(await a.evaluate(`${chip("👍")}.getAttribute("aria-pressed")`)).toBe("false");
    expect(await a.evaluate(`${chip("👍")}.title`)).toBe("bob");

    await a.evaluate(`${chip("👍")}.click()`);
    for (const view of [a, b]) await until(view, `${chip("👍")}?.textContent === "👍2"`);
    expect(await b.evaluate(`${chip("👍")}.title`)).toBe("you, alice");
    await a.evaluate(`${chip("👍")}.click()`);
    await until(b, `${chip("👍")}?.textContent === "👍1"`);

    await openMenu(b, id);
    await b.click(`${msg(id)} .menu-react`);
    await b.click(`${msg(id)} .typed-emoji`);
    await b.type("ab");
    await b.press("Enter");
    expect(await until(b, `document.querySelector('${msg(id)} .menu .form-error')?.textContent`)).toBeTruthy();
    await b.evaluate(`document.querySelector('${msg(id)} .typed-emoji').value = ""`);
    await b.click(`${msg(id)} .typed-emoji`);
    await b.type("🦀");
    await b.press("Enter");
    await until(a, `${chip("🦀")}?.textContent === "🦀1"`);
    expect(
      await a.evaluate(`[...document.querySelectorAll('${msg(id)} .reaction')].map((e) => e.dataset.emoji)`),
    ).toEqual(["👍", "🦀"]);

    // A long press (touch has no hover) shows who reacted.
    await a.evaluate(`${chip("🦀")}.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }))`);
    expect(await until(a, `document.querySelector('${msg(id)} .reaction-who')?.textContent`)).toBe("🦀 bob");
    await Bun.write(join(shots, "messages-desktop.png"), await a.screenshot());
  }, 30000);

  test("message search over all rooms marks the words found; a result opens the room at that message", async () => {
    await a.click("#directory"); // somewhere else
    await until(a, `!document.querySelector(".room-view")`);
    await a.click("#message-search");
    await a.type("tomato");
    const result = `document.querySelector("#message-results .search-result")`;
    await until(a, `!!${result}`, undefined, 10000);
    expect(await a.evaluate(`${result}.querySelector(".result-room").textContent`)).toBe("Kitchen");
    expect(await a.evaluate(`${result}.querySelector("mark")?.textContent`)).toBe("tomato");
    const id = Number(await a.evaluate(`${result}.dataset.id`));
    await a.evaluate(`${result}.click()`);
    await until(a, `document.querySelector('${msg(id)}')?.classList.contains("target")`, undefined, 10000);
    expect(await a.evaluate(`location.hash`)).toBe(`#room/${room}/${id}`);
    expect(await a.evaluate(`document.querySelector('${msg(id)} .text mark')?.textContent`)).toBe("tomato");
    await Bun.write(join(shots, "search-desktop.png"), await a.screenshot());
    console.log(`screenshots: ${shots}`);
  }, 30000);

  test("each page still holds one WebSocket, its user stream", async () => {
    const metrics = (await call(s.url, "GET", "/metrics")).body as string;
    expect(/^echat_websockets_open (\d+)$/m.exec(metrics)?.[1]).toBe("3"); // the two pages and carol's socket
  }, 30000);
});
