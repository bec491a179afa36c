// The built-in web client at /, driven in a real Chromium through Bun.WebView: two people register in
// the UI, find each other, chat live, and survive a reload and a server restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM, fill, openView, storedTexts, text, until, type View } from "./support/browser.ts";
import { call } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { sendAll, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";

describe("GET /", () => {
  let s: TestServer;
  beforeAll(async () => (s = await startServer()));
  afterAll(() => s.stop());

  test("serves the client with a Content-Security-Policy that forbids inline script, and the page has none", async () => {
    const res = await call<string>(s.url, "GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = res.body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/[^"]+\.js"/);
      expect(body!.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const [, path] of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) {
      const asset = await fetch(s.url + path);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(/^text\/(javascript|css)/);
    }
  });
});

const haveChromium = needs("chromium", CHROMIUM !== null);

describe.skipIf(!haveChromium)("in a browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "echat-browser-"));
  const shots = mkdtempSync(join(tmpdir(), "echat-shots-"));
  let port: number;
  let s: TestServer;
  let a: View; // alice, at 127.0.0.1
  let b: View; // bob, at localhost: another origin, so another localStorage in the same browser
  let room: number;

  const url = (host: string) => `http://${host}:${port}/`;
  const visible = (view: View, id: string) => view.evaluate(`!document.getElementById(${JSON.stringify(id)}).hidden`);
  const aliceSession = () => a.evaluate(`localStorage.getItem("echat.session")`) as Promise<string>;
  const history = async () =>
    (await call(s.url, "GET", `/v1/rooms/${room}/messages?after=0&limit=200`, { session: await aliceSession() }))
      .body as any[];

  async function say(view: View, message: string) {
    await view.click("#text");
    await view.type(message);
    await view.press("Enter");
  }

  beforeAll(async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    port = probe.port!;
    probe.stop(true);
    s = await startServer({ config: { port }, dir }); // a fixed port, so the restarted server is found at the same address
    a = openView();
    b = openView();
    await a.navigate(url("127.0.0.1"));
    await b.navigate(url("localhost"));
    console.log(`screenshots: ${shots}`);
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("registering in the UI shows the API's errors by the form, then the chat", async () => {
    await until(a, `!document.getElementById("auth").hidden`);
    await Bun.write(join(shots, "login-desktop.png"), await a.screenshot());
    await fill(a, "#login", "alice");
    await fill(a, "#password", "short");
    await a.click("button[value=register]");
    expect(await until(a, `document.getElementById("auth-error").textContent`)).toBe(
      "Password must be 8-1024 characters",
    );
    await fill(a, "#password", "password123");
    await a.click("button[value=register]");
    await until(a, `document.getElementById("me").textContent === "alice"`);
    expect(await visible(a, "chat")).toBe(true);
    expect(await visible(a, "auth")).toBe(false);

    await until(b, `!document.getElementById("auth").hidden`);
    await fill(b, "#login", "ALICE");
    await fill(b, "#password", "password123");
    await b.click("button[value=register]");
    expect(await until(b, `document.getElementById("auth-error").textContent`)).toBe("This login is taken");
    await fill(b, "#login", "bob");
    await b.click("button[value=register]");
    await until(b, `document.getElementById("me").textContent === "bob"`);
  });

  test("alice finds bob by search and starts a room; it appears in bob's list", async () => {
    await fill(a, "#search", "ob"); // two characters: the start of a login only
    expect(
      await until<string>(a, `document.getElementById("search-error").textContent`, (t) => t.includes("“ob”")),
    ).toBe("Nobody found for “ob”. Type three characters to find them anywhere in a login.");
    await fill(a, "#search", "bo");
    expect(await until(a, `document.querySelector("#results button")?.textContent`)).toBe("Chat with bob");
    await a.click("#results button");
    const hash = await until<string>(a, "location.hash", (h) => /^#room\/\d+$/.test(h));
    room = Number(hash.split("/")[1]);
    expect(await until(a, `document.querySelector(".room-view h2")?.textContent`)).toBe("bob");

    await until(b, `document.querySelector(".room-item .name")?.textContent === "alice"`);
    await b.click(`.room-item[data-room="${room}"]`);
    expect(await until(b, `document.querySelector(".room-view h2")?.textContent`)).toBe("alice");
  });

  test("each sees the other online, and bob typing shows in alice's view", async () => {
    await until(a, `document.querySelector(".room-view").dataset.state === "open"`);
    await until(b, `document.querySelector(".room-view").dataset.state === "open"`);
    await until(a, `document.querySelector(".presence .who.online")?.textContent === "online"`);
    await until(b, `document.querySelector(".presence .who.online")?.textContent === "online"`);
    await b.click("#text");
    await b.type("H");
    expect(await until(a, `document.querySelector(".typing").textContent`)).toBe("bob is typing…");
  });

  test("messages go both ways live; Enter sends, Shift+Enter starts a new line", async () => {
    await b.type("i alice");
    await b.press("Enter");
    await until(a, `document.querySelector(".msg:not(.pending) .text")?.textContent === "Hi alice"`);
    expect(await text(a, ".typing")).toBe(""); // the message ends bob's typing
    await until(b, `!document.querySelector(".msg.pending")`);
    expect(await storedTexts(b)).toEqual(["Hi alice"]);
    expect(await b.evaluate(`document.getElementById("text").value`)).toBe("");

    await a.click("#text");
    await a.type("line one");
    await a.press("Enter", { modifiers: ["Shift"] });
    await a.type("line two");
    await a.press("Enter");
    await until<string[]>(
      b,
      `[...document.querySelectorAll(".msg .text")].map((e) => e.textContent)`,
      (t) => t.length === 2,
    );
    expect(await storedTexts(b)).toEqual(["Hi alice", "line one\nline two"]);
    await until(a, `!document.querySelector(".msg.pending")`); // alice's own copy is her ack
    expect(await storedTexts(a)).toEqual(["Hi alice", "line one\nline two"]);
    // Times are the viewer's local time, with the UTC instant in datetime.
    const time = (await a.evaluate(
      `(() => { const t = document.querySelector(".msg time"); return [t.dateTime, t.textContent] })()`,
    )) as string[];
    expect(time[1]).toBe(new Date(time[0]!).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  });

  test("a message that looks like HTML is shown as text and never runs", async () => {
    const evil = `<img src=x onerror="document.title='pwned'"><b>bold</b>`;
    await say(a, evil);
    await until(
      b,
      `[...document.querySelectorAll(".msg .text")].some((e) => e.textContent === ${JSON.stringify(evil)})`,
    );
    await until(b, `document.querySelector(".room-item .last")?.textContent === ${JSON.stringify(`alice: ${evil}`)}`);
    expect(await b.evaluate(`document.querySelectorAll("#chat img, #chat b").length`)).toBe(0);
    expect(await b.evaluate("document.title")).not.toBe("pwned");
  });

  test("a message over the limit gets the API's refusal by the composer and its text back to edit", async () => {
    const long = "x".repeat(4001);
    await say(a, long);
    expect(await until(a, `document.querySelector(".room-view > .form-error").textContent`)).toBe(
      "Text must have a visible character and at most 4000 characters",
    );
    expect(await a.evaluate(`document.querySelectorAll(".msg.pending").length`)).toBe(0);
    expect(await a.evaluate(`document.getElementById("text").value.length`)).toBe(4001);
    await Bun.write(join(shots, "too-long-desktop.png"), await a.screenshot());
    await a.evaluate(`document.getElementById("text").value = ""`);
  });

  test("an unread message is counted in bob's list and marked seen for alice once bob opens the room", async () => {
    const evil = `<img src=x onerror="document.title='pwned'"><b>bold</b>`;
    await until(a, `document.querySelectorAll(".msg")[2].querySelector(".seen")?.textContent === "Seen by bob"`);
    await b.evaluate(`location.hash = ""`);
    await until(b, `!document.querySelector(".room-view")`);
    // Presence is per user, not per room: bob left the room's view but is still online in the app.
    expect(await a.evaluate(`document.querySelector(".presence .who").textContent`)).toBe("online");
    await say(a, "are you there?");
    expect(await until(b, `document.querySelector(".room-item .unread")?.textContent`, undefined, 10000)).toBe("1");
    await b.click(`.room-item[data-room="${room}"]`);
    const seenOn = `document.querySelector(".seen")?.closest(".msg").querySelector(".text").textContent`;
    expect(await until(a, seenOn, (t) => t !== evil && t !== null)).toBe("are you there?");
    expect(await a.evaluate(`document.querySelectorAll(".seen").length`)).toBe(1);
    await until(b, `!document.querySelector(".room-item .unread")`, undefined, 10000);
  });

  test("after a reload bob finds the history, and scrolling up loads older pages", async () => {
    const socket = await Socket.open(`${s.wsUrl}/v1/rooms/${room}/chat?session_id=${await aliceSession()}`);
    await sendAll(
      socket,
      Array.from({ length: 60 }, (_, i) => `older ${i}`),
    );
    await socket.close();
    const all = (await history()).map((m) => m.text);
    expect(all.length).toBe(64);

    await b.reload();
    await until<string[]>(
      b,
      `[...document.querySelectorAll(".msg .text")].map((e) => e.textContent)`,
      (t) => t.length === 50,
    );
    expect(await storedTexts(b)).toEqual(all.slice(-50));
    await b.evaluate(`document.querySelector(".scroller").scrollTop = 0`);
    await until<string[]>(
      b,
      `[...document.querySelectorAll(".msg .text")].map((e) => e.textContent)`,
      (t) => t.length === 64,
    );
    expect(await storedTexts(b)).toEqual(all);
    expect(await b.evaluate(`document.querySelector(".older").hidden`)).toBe(true);
  });

  test("when the server restarts the views show reconnecting, then get what was sent meanwhile, once", async () => {
    await until(b, `document.querySelector(".room-view").dataset.state === "open"`);
    const session = await aliceSession();
    await s.stop();
    expect(await until(a, `document.querySelector(".room-view .status").textContent`)).toBe("Reconnecting…");
    expect(await until(b, `document.querySelector(".room-view .status").textContent`)).toBe("Reconnecting…");
    expect(await text(a, ".presence")).toBe("offline"); // unknown while away

    // Sent from the page while the server is down: shown greyed until acknowledged.
    await say(a, "typed while offline");
    await until(a, `document.querySelector(".msg.pending .text")?.textContent === "typed while offline"`);
    expect(Number(await a.evaluate(`getComputedStyle(document.querySelector(".msg.pending")).opacity`))).toBeLessThan(
      1,
    );
    await Bun.write(join(shots, "reconnecting-desktop.png"), await a.screenshot());

    // Written while neither view can connect: the same database served on another port.
    const elsewhere = await startServer({ config: { port: 0 }, dir });
    const socket = await Socket.open(`${elsewhere.wsUrl}/v1/rooms/${room}/chat?session_id=${session}`);
    await sendAll(socket, ["meanwhile 1", "meanwhile 2"]);
    await socket.close();
    await elsewhere.stop();

    s = await startServer({ config: { port }, dir });
    const all = async () => (await history()).map((m) => m.text);
    for (const view of [a, b]) {
      await until(view, `document.querySelector(".room-view").dataset.state === "open"`, undefined, 15000);
      await until(view, `!document.querySelector(".msg.pending")`);
      await until<string[]>(view, `[...document.querySelectorAll(".msg .text")].map((e) => e.textContent)`, (t) =>
        t.includes("typed while offline"),
      );
    }
    const texts = await all();
    expect(texts.slice(-3)).toEqual(["meanwhile 1", "meanwhile 2", "typed while offline"]);
    expect((await storedTexts(a)).slice(-3)).toEqual(texts.slice(-3));
    expect(await storedTexts(b)).toEqual(texts); // nothing lost, nothing doubled
    expect(await text(b, ".room-view .status")).toBe("");
    await until(a, `document.querySelector(".presence").textContent === "online"`);
  });

  test("after missing more than 1000 messages a view starts again from the latest page, and scroll-back still works", async () => {
    const session = await aliceSession();
    await s.stop();
    await until(b, `document.querySelector(".room-view").dataset.state === "reconnecting"`);
    const elsewhere = await startServer({ config: { port: 0 }, dir });
    const socket = await Socket.open(`${elsewhere.wsUrl}/v1/rooms/${room}/chat?session_id=${session}`);
    await sendAll(
      socket,
      Array.from({ length: 1001 }, (_, i) => `missed ${i}`),
    );
    await socket.close();
    await elsewhere.stop();
    s = await startServer({ config: { port }, dir });

    await until<string[]>(
      b,
      `[...document.querySelectorAll(".msg .text")].map((e) => e.textContent)`,
      (t) => t.at(-1) === "missed 1000",
      15000,
    );
    const shown = await storedTexts(b);
    expect(shown).toEqual(Array.from({ length: 50 }, (_, i) => `missed ${951 + i}`)); // the gap is not replayed
    await b.evaluate(`document.querySelector(".scroller").scrollTop = 0`);
    await until<string[]>(
      b,
      `[...document.querySelectorAll(".msg .text")].map((e) => e.textContent)`,
      (t) => t[0] === "missed 901",
    );
    await until(a, `document.querySelector(".room-view").dataset.state === "open"`);
  });

  test("on a phone-sized screen the room takes the whole width, and back shows the room list", async () => {
    await b.resize(390, 780);
    expect(await b.evaluate(`getComputedStyle(document.querySelector(".sidebar")).display`)).toBe("none");
    expect(await b.evaluate(`document.querySelector(".room-view").getBoundingClientRect().width`)).toBe(390);
    await Bun.write(join(shots, "room-phone.png"), await b.screenshot());
    await b.click(".back");
    await until(b, `getComputedStyle(document.querySelector(".sidebar")).display !== "none"`);
    expect(await b.evaluate(`getComputedStyle(document.getElementById("room")).display`)).toBe("none");
    await Bun.write(join(shots, "rooms-phone.png"), await b.screenshot());
    await b.cdp("Emulation.setEmulatedMedia", { features: [{ name: "prefers-color-scheme", value: "dark" }] });
    await b.click(`.room-item[data-room="${room}"]`);
    await until(b, `document.querySelector(".room-view")?.dataset.state === "open"`);
    await Bun.write(join(shots, "room-phone-dark.png"), await b.screenshot());
    await a.cdp("Emulation.setEmulatedMedia", { features: [{ name: "prefers-color-scheme", value: "dark" }] });
    await Bun.write(join(shots, "room-desktop-dark.png"), await a.screenshot());
  });

  test("logging out forgets the session; a wrong password is shown by the form; logging in brings the rooms back", async () => {
    await a.cdp("Emulation.setEmulatedMedia", { features: [] });
    await Bun.write(join(shots, "room-desktop.png"), await a.screenshot());
    await a.click("#logout");
    await until(a, `!document.getElementById("auth").hidden`);
    expect(await a.evaluate(`localStorage.getItem("echat.session")`)).toBeNull();
    await fill(a, "#login", "alice");
    await fill(a, "#password", "wrong password");
    await a.press("Enter");
    expect(await until(a, `document.getElementById("auth-error").textContent`)).toBe("Wrong password");
    await fill(a, "#password", "password123");
    await a.press("Enter");
    await until(a, `document.querySelector(".room-item .name")?.textContent === "bob"`);
  });

  test("a user in more rooms than one page of GET /v1/rooms sees every room in the list", async () => {
    const session = await aliceSession();
    const others = [];
    for (let i = 0; i < 21; i++) {
      const r = await call(s.url, "POST", "/v1/register", { body: { login: `page${i}`, password: "password123" } });
      const info = await call(s.url, "GET", "/v1/info", { session: r.body.session_id });
      others.push(info.body.id);
    }
    // 210 new rooms (member sets: alice with pairs of the others), past the largest page of 200.
    const sets: number[][] = [];
    for (let i = 0; i < others.length; i++)
      for (let j = i + 1; j < others.length; j++) sets.push([others[i]!, others[j]!]);
    for (const set of sets) {
      const r = await call(s.url, "POST", "/v1/rooms", { session, body: { users: set.map((id) => ({ id })) } });
      expect(r.status).toBe(200);
    }
    const total = sets.length + 1; // and the room with bob, now the oldest
    expect(total).toBeGreaterThan(200);
    expect(await until(a, `document.querySelectorAll(".room-item").length`, (n) => n === total, 15000)).toBe(total);
    expect(await a.evaluate(`document.querySelector("#rooms li:last-child .name")?.textContent`)).toBe("bob");
  });
});
