// Issue 14 in the web client, driven in Chromium: the first admin signs up through the setup link, makes an
// invite link in the Admin view, a newcomer registers through it, the admin disables and re-enables them, and a
// user signs out another of their sessions from the Sessions list.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { setupCode, startLogged } from "./support/admin.ts";
import { CHROMIUM, fill, openView, until, type View } from "./support/browser.ts";
import { call, expectError } from "./support/http.ts";
import type { LogSink } from "./support/log.ts";
import type { TestServer } from "./support/server.ts";
import { needs } from "./support/tools.ts";

const haveChromium = needs("chromium", CHROMIUM !== null);

describe.skipIf(!haveChromium)("admin, invites and sessions in a browser", () => {
  let s: TestServer;
  let sink: LogSink;
  let a: View; // the admin, at 127.0.0.1
  let b: View; // the newcomer, at localhost: another origin, so another localStorage
  let inviteUrl: string;

  beforeAll(async () => {
    ({ s, sink } = await startLogged({ config: { registration: "invite" } }));
    a = openView();
    b = openView();
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    await s?.stop();
  }, 30000);

  test("the setup link opens registration with the code filled in and makes an admin who sees the Admin view", async () => {
    const code = await setupCode(sink);
    await a.navigate(`${s.url}/#invite=${code}`);
    await until(a, `!document.getElementById("auth").hidden`);
    expect(await a.evaluate(`document.getElementById("invite").value`)).toBe(code);
    expect(await a.evaluate(`document.getElementById("invited").hidden`)).toBe(false);
    await fill(a, "#login", "root");
    await fill(a, "#password", "password123");
    await a.click("button[value=register]");
    await until(a, `document.getElementById("me").textContent === "root"`);
    expect(await a.evaluate("location.hash")).toBe(""); // the code leaves the address bar
    expect(await a.evaluate(`document.getElementById("admin").hidden`)).toBe(false);
  }, 30000);

  test("without an invite, registering asks for one; a non-admin never sees the Admin view", async () => {
    await b.navigate(`${s.url.replace("127.0.0.1", "localhost")}/`);
    await until(b, `!document.getElementById("auth").hidden`);
    expect(await b.evaluate(`document.getElementById("invite-label").hidden`)).toBe(true);
    await fill(b, "#login", "newcomer");
    await fill(b, "#password", "password123");
    await b.click("button[value=register]");
    expect(await until(b, `document.getElementById("auth-error").textContent`)).toBe(
      "Registration needs an invite code",
    );
    expect(await b.evaluate(`document.getElementById("invite-label").hidden`)).toBe(false);
  }, 30000);

  test("the admin makes an invite link, and the newcomer registers through it", async () => {
    await a.click("#admin");
    await until(a, `!!document.querySelector(".admin-view")`);
    await a.evaluate(`document.getElementById("invite-uses").value = "2"`);
    await a.click(".invite-form button[type=submit]");
    inviteUrl = await until<string>(a, `document.querySelector(".created-invite .invite-url")?.value ?? ""`);
    expect(inviteUrl).toMatch(/\/#invite=[A-Za-z0-9_-]{24}$/);
    expect(await until(a, `document.querySelector(".invite-item .detail")?.textContent ?? ""`)).toStartWith(
      "2 uses left, expires ",
    );

    await b.navigate("about:blank"); // then the link as a fresh page load, as from a mail
    await b.navigate(inviteUrl.replace("127.0.0.1", "localhost"));
    await until(b, `document.getElementById("invite").value.length === 24`);
    await fill(b, "#login", "newcomer");
    await fill(b, "#password", "password123");
    await b.click("button[value=register]");
    await until(b, `document.getElementById("me").textContent === "newcomer"`);
    expect(await b.evaluate(`document.getElementById("admin").hidden`)).toBe(true);
    await b.evaluate(`location.hash = "#admin"`); // typed by hand: still not shown
    expect(await b.evaluate(`!!document.querySelector(".admin-view")`)).toBe(false);

    await a.evaluate(`location.hash = ""`);
    await a.click("#admin"); // a fresh view: the invite has one use left
    expect(await until(a, `document.querySelector(".invite-item .detail")?.textContent ?? ""`)).toStartWith(
      "1 use left",
    );
  }, 30000);

  test("the admin finds the newcomer, disables them (their tab is logged out), then enables them", async () => {
    await fill(a, "#admin-q", "newco");
    const row = `document.querySelector(".user-item:not([data-user='${await myId(a)}'])")`;
    await until(a, `${row}?.querySelector("strong").textContent === "newcomer"`);
    await a.evaluate(`${row}.querySelector(".toggle-disabled").click()`);
    await until(a, `${row}?.querySelector(".badge.off")?.textContent === "disabled"`);
    await b.evaluate(`location.hash = ""`);
    await until(b, `!document.getElementById("auth").hidden`, undefined, 15000); // the next room-list poll got 401

    await fill(b, "#login", "newcomer");
    await fill(b, "#password", "password123");
    await b.click("button[value=login]");
    expect(await until(b, `document.getElementById("auth-error").textContent`)).toBe("This account is disabled");

    await a.evaluate(`${row}.querySelector(".toggle-disabled").click()`);
    await until(a, `!${row}?.querySelector(".badge.off")`);
    await b.click("button[value=login]");
    await until(b, `document.getElementById("me").textContent === "newcomer"`);
  }, 30000);

  test("the Sessions list shows this device and signs out another session, whose calls then get 401", async () => {
    const other = await call(s.url, "POST", "/v1/login", {
      body: { login: "newcomer", password: "password123" },
      headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" },
    });
    expect(other.status).toBe(200);
    await b.click("#sessions");
    await until(b, `document.querySelectorAll(".session-item").length === 2`);
    const firefox = `[...document.querySelectorAll(".session-item")].find((e) => e.querySelector(".device").textContent === "Firefox on Linux")`;
    expect(await b.evaluate(`!!${firefox} && !${firefox}.querySelector(".badge")`)).toBe(true);
    expect(await b.evaluate(`document.querySelectorAll(".session-item .badge").length`)).toBe(1); // "This device"
    await b.evaluate(`${firefox}.querySelector(".end-session").click()`);
    await until(b, `document.querySelectorAll(".session-item").length === 1`);
    expectError(await call(s.url, "GET", "/v1/info", { session: other.body.session_id }), 401, "unauthorized");
  }, 30000);
});

const myId = async (view: View) =>
  (
    await call((await view.evaluate("location.origin")) as string, "GET", "/v1/info", {
      session: (await view.evaluate(`localStorage.getItem("echat.session")`)) as string,
    })
  ).body.id;
