// Issue 15's groups in the web client, driven in Chromium: alice creates a public group with bob, the header
// shows its name and topic, members come and go live (carol joins from the directory's API and is removed by
// the owner), the owner's topic change reaches bob's header, the directory lists the group, and bob leaves.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM, fill, openView, until, type View } from "./support/browser.ts";
import { type Account, call, register } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { chatUrl, Socket } from "./support/socket.ts";
import { needs } from "./support/tools.ts";

const haveChromium = needs("chromium", CHROMIUM !== null);

describe.skipIf(!haveChromium)("groups in a browser", () => {
  let s: TestServer;
  let a: View; // alice, at 127.0.0.1
  let b: View; // bob, at localhost: another origin, so another localStorage
  let alice: Account;
  let bob: Account;
  let carol: Account; // through the API only
  let room: number;
  const shots = mkdtempSync(join(tmpdir(), "echat-shots-"));

  const members = (view: View) =>
    view.evaluate(
      `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
    ) as Promise<string[]>;

  async function signIn(view: View, host: string, who: Account) {
    await view.navigate(`${s.url.replace("127.0.0.1", host)}/`);
    await view.evaluate(`localStorage.setItem("echat.session", ${JSON.stringify(who.session)})`);
    await view.reload();
    await until(view, `document.getElementById("me").textContent === ${JSON.stringify(who.login)}`);
  }

  beforeAll(async () => {
    s = await startServer();
    [alice, bob, carol] = [
      await register(s.url, "alice"),
      await register(s.url, "bob"),
      await register(s.url, "carol"),
    ];
    a = openView();
    b = openView();
    await signIn(a, "127.0.0.1", alice);
    await signIn(b, "localhost", bob);
  }, 30000);

  afterAll(async () => {
    a?.close();
    b?.close();
    await s?.stop();
  });

  test("alice creates a public group with bob; it opens with its name and topic, and appears in bob's list", async () => {
    await a.click("#new-group");
    await until(a, `!!document.getElementById("group-name")`);
    await fill(a, "#group-name", "Garden club");
    await fill(a, "#group-topic", "Tomatoes");
    await fill(a, "#group-people", "bob");
    await a.click("#group-public");
    await a.click(".new-group button[type=submit]");
    const hash = await until<string>(a, "location.hash", (h) => /^#room\/\d+$/.test(h));
    room = Number(hash.split("/")[1]);
    expect(await until(a, `document.querySelector(".room-view h2")?.textContent`)).toBe("Garden club");
    expect(await a.evaluate(`document.querySelector(".room-view .topic").textContent`)).toBe("Tomatoes");

    await until(
      b,
      `document.querySelector('.room-item[data-room="${room}"] .name')?.textContent === "Garden club"`,
      undefined,
      10000,
    );
    await b.click(`.room-item[data-room="${room}"]`);
    await until(b, `document.querySelector(".room-view")?.dataset.state === "open"`);
    expect(await b.evaluate(`document.querySelector(".room-view h2").textContent`)).toBe("Garden club");
  }, 30000);

  test("bob's members drawer lists the owner; he may add and leave but not remove or edit", async () => {
    await b.click(".members-toggle");
    expect(
      await until<string[]>(
        b,
        `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
        (l) => l.length === 2,
      ),
    ).toEqual(["bob", "alice"]); // the viewer first
    expect(await b.evaluate(`document.querySelector('.member[data-user="${alice.id}"] .badge').textContent`)).toBe(
      "owner",
    );
    expect(await b.evaluate(`document.querySelectorAll(".members-panel .remove-member").length`)).toBe(0);
    expect(await b.evaluate(`document.querySelector(".members-panel .edit-room").hidden`)).toBe(true);
  }, 30000);

  test("carol joins through the API and both drawers show her at once; the owner removes her and her socket closes with 4003", async () => {
    await a.click(".members-toggle");
    const joined = await call(s.url, "POST", `/v1/rooms/${room}/join`, { session: carol.session, body: {} });
    expect(joined.status).toBe(200);
    await until<string[]>(
      a,
      `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
      (l) => l.includes("carol"),
    );
    expect(
      await until<string[]>(
        b,
        `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
        (l) => l.includes("carol"),
      ),
    ).toEqual(["bob", "alice", "carol"]); // the viewer first, then join order, as GET /v1/rooms/:id lists them

    const carolSocket = await Socket.open(chatUrl(s, room, carol));
    await a.evaluate(`document.querySelector('.member[data-user="${carol.id}"] .remove-member').click()`);
    expect((await carolSocket.closed).code).toBe(4003);
    // Both drawers follow the members frame; the owner's own page waits for it like bob's.
    for (const view of [a, b]) {
      await until<string[]>(
        view,
        `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
        (l) => !l.includes("carol"),
      );
    }
    expect(await members(a)).toEqual(["alice", "bob"]);
  }, 30000);

  test("each page holds one WebSocket, its user stream, with a room open: no room sockets", async () => {
    await until(a, `document.querySelector(".room-view")?.dataset.state === "open"`);
    await until(b, `document.querySelector(".room-view")?.dataset.state === "open"`);
    const metrics = (await call(s.url, "GET", "/metrics")).body as string;
    expect(/^echat_websockets_open (\d+)$/m.exec(metrics)?.[1]).toBe("2");
  }, 30000);

  test("adding people by login in the drawer: carol is back in both drawers, and an unknown login is refused there", async () => {
    await fill(a, ".add-member input[name=login]", "nobody-here");
    await a.click(".add-member button[type=submit]");
    expect(await until(a, `document.querySelector(".members-panel > .form-error").textContent`)).toBe(
      `no user with login "nobody-here"`,
    );
    await fill(a, ".add-member input[name=login]", "carol");
    await a.click(".add-member button[type=submit]");
    await until<string[]>(
      b,
      `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
      (l) => l.includes("carol"),
    );
    expect(await members(a)).toEqual(["alice", "bob", "carol"]);
    await a.evaluate(`document.querySelector('.member[data-user="${carol.id}"] .remove-member').click()`);
    await until<string[]>(
      a,
      `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
      (l) => l.length === 2,
    );
  }, 30000);

  test("the owner's new topic reaches bob's header live", async () => {
    await fill(a, ".edit-room input[name=topic]", "Peppers");
    await a.click(".edit-room button[type=submit]");
    expect(await until(b, `document.querySelector(".room-view .topic").textContent`, (t) => t === "Peppers")).toBe(
      "Peppers",
    );
    await Bun.write(join(shots, "group-owner-desktop.png"), await a.screenshot());
    console.log(`screenshots: ${shots}`);
  }, 30000);

  test("the owner chooses how long the group keeps its messages; bob, a member, is not offered the choice", async () => {
    const watch = await Socket.open(chatUrl(s, room, bob, { events: "members" }));
    const select = `document.querySelector(".members-panel .retention select")`;
    expect(await a.evaluate(`${select}.value`)).toBe(""); // the server's
    await a.evaluate(`(${select}.value = "2592000", ${select}.dispatchEvent(new Event("change")))`);
    expect(await watch.next((f) => f.type === "room")).toMatchObject({ room: { retention: 2592000 } });
    await watch.close();
    expect((await call(s.url, "GET", `/v1/rooms/${room}`, { session: bob.session })).body.retention).toBe(2592000);
    expect(await until(a, `${select}.value`, (v) => v === "2592000")).toBe("2592000");
    expect(await b.evaluate(`document.querySelector(".members-panel .retention").hidden`)).toBe(true);
    await Bun.write(join(shots, "group-retention-desktop.png"), await a.screenshot());
  }, 30000);

  test("the directory lists the group with its members; bob leaves and it goes from his list and alice's drawer", async () => {
    await b.click("#directory");
    const item = `document.querySelector('.directory-item[data-room="${room}"]')`;
    await until(b, `!!${item}`);
    expect(await b.evaluate(`${item}.querySelector("strong").textContent`)).toBe("Garden club");
    expect(await b.evaluate(`${item}.textContent`)).toContain("2 members");

    await b.click(`.room-item[data-room="${room}"]`);
    await until(b, `document.querySelector(".room-view")?.dataset.state === "open"`);
    await b.click(".members-toggle");
    await until(b, `!!document.querySelector(".members-panel .leave")`);
    await b.click(".members-panel .leave");
    await until(b, `!document.querySelector('.room-item[data-room="${room}"]')`, undefined, 10000);
    expect(
      await until<string[]>(
        a,
        `[...document.querySelectorAll(".members-panel .member .login")].map((e) => e.textContent)`,
        (l) => l.length === 1,
      ),
    ).toEqual(["alice"]);
  }, 30000);
});
