// Login rules (docs/api.md "Logins"): invisible, private-use, unassigned and mixed-script logins are refused,
// look-alikes fold together (NFKC + case), old accounts keep logging in after the fold changed, and the
// user search keeps its order on the indexes.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, expectError, register } from "./support/http.ts";
import { freshDatabase, STORE } from "./support/postgres.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { rewindPostgresTo2, rewindSqliteTo2 } from "./support/old-schema.ts";

let s: TestServer;
let admin: Account;
beforeAll(async () => {
  s = await startServer();
  admin = await register(s.url, "admin");
});
afterAll(() => s.stop());

const registerAs = (login: string) => call(s.url, "POST", "/v1/register", { body: { login, password: "password123" } });
const loginAs = (login: string, password = "password123") =>
  call(s.url, "POST", "/v1/login", { body: { login, password } });
const search = async (q: string, session = admin.session) => {
  const r = await call(s.url, "GET", `/v1/users?q=${encodeURIComponent(q)}`, { session });
  expect(r.status).toBe(200);
  return r.body.map((u: any) => u.login);
};

describe("refused logins", () => {
  test.each([
    ["a zero-width space (U+200B)", "admin\u200b"],
    ["a right-to-left override (U+202E)", "\u202enimda"],
    ["a soft hyphen (U+00AD)", "ad\u00admin"],
    ["a Hangul filler (U+3164)", "\u3164admin"],
    ["a Hangul jungseong filler (U+1160)", "ad\u1160min"],
    ["a halfwidth Hangul filler (U+FFA0)", "admin\uffa0"],
    ["a private-use character (U+E000)", "adm\ue000in"],
    ["a supplementary private-use character (U+F0000)", "admin\u{f0000}"],
    ["an unassigned code point (U+0378)", "adm\u0378in"],
    ["a noncharacter (U+FDD0)", "admin\ufdd0"],
    ["a Cyrillic а among Latin letters", "\u0430dmin"],
    ["Greek and Latin letters", "adminαβ"],
    ["a word joiner (U+2060)", "ad\u2060min"],
    ["a left-to-right mark (U+200E)", "\u200eadmin"],
    ["a variation selector (U+FE0F)", "admin\ufe0f"],
    ["a byte order mark (U+FEFF)", "\ufeffadmin"],
    ["a no-break space (U+00A0)", "ad\u00a0min"],
    ["an ideographic space inside (U+3000)", "ad\u3000min"],
    ["a braille blank (U+2800)", "admin\u2800"],
    ["a letter of a script not recommended for identifiers (Gothic)", "\u{10330}\u{10331}"],
  ])("a login with %s is invalid_login", async (_, login) => {
    expectError(await registerAs(login), 422, "invalid_login");
  });
});

describe("look-alikes fold together", () => {
  test.each([
    ["full-width letters", "ａｄｍｉｎ"],
    ["full-width capitals", "ＡＤＭＩＮ"],
    ["capitals", "ADMIN"],
    ["modifier capitals (NFKC)", "ᴬᴰᴹᴵᴺ"],
    ["a mix", "Aｄmｉn"],
  ])("%s are the taken login admin, and log in to it", async (_, login) => {
    expectError(await registerAs(login), 422, "user_already_exists");
    const r = await loginAs(login);
    expect(r.status).toBe(200);
    expect((await call(s.url, "GET", "/v1/info", { session: r.body.session_id })).body).toEqual({
      id: admin.id,
      login: "admin",
      admin: false,
    });
  });

  test("ligatures and compatibility forms fold: ﬁle is file", async () => {
    await register(s.url, "ﬁle");
    expectError(await registerAs("FILE"), 422, "user_already_exists");
    expect((await loginAs("file")).status).toBe(200);
  });

  test("after every look-alike above was tried, search lists one admin", async () => {
    expect(await search("admin")).toEqual(["admin"]);
    expect(await search("ＡＤＭＩＮ")).toEqual(["admin"]);
  });
});

describe("accepted logins", () => {
  test.each([
    ["one script", "Вася"],
    ["Latin with digits and punctuation", "user_1.2-3"],
    ["Han and Latin", "東京tokyo"],
    ["Hiragana, Katakana, Han and Latin", "ひらがなカタカナ漢字abc"],
    ["Hangul and Latin", "한국어abc"],
    ["Greek alone", "αβγδ"],
    ["an inner space", "bob smith"],
    ["an emoji", "bob😀"],
  ])("a login in %s is accepted", async (_, login) => {
    expect((await registerAs(login)).status).toBe(200);
  });
});

describe("search on the indexes", () => {
  test("exact match, then prefixes, then other substrings, each by code point; short queries match exact and prefix only", async () => {
    for (const l of ["zeta", "zetaa", "zetab", "azeta", "bzeta", "xzetay", "zet"]) await register(s.url, l);
    expect(await search("zeta")).toEqual(["zeta", "zetaa", "zetab", "azeta", "bzeta", "xzetay"]);
    expect(await search("ZET")).toEqual(["zet", "zeta", "zetaa", "zetab", "azeta", "bzeta", "xzetay"]);
    expect(await search("ze")).toEqual(["zet", "zeta", "zetaa", "zetab"]);
    expect(await search("ta")).toEqual([]);
    expect(await search("eta")).toEqual(["azeta", "bzeta", "xzetay", "zeta", "zetaa", "zetab"]);
  });

  test("many matches beyond the prefixes come in code point order too", async () => {
    const logins = Array.from({ length: 1100 }, (_, i) => `m${String(1099 - i).padStart(4, "0")}qqq`);
    for (let i = 0; i < logins.length; i += 100)
      await Promise.all(logins.slice(i, i + 100).map((l) => register(s.url, l)));
    const got = await search("qqq");
    expect(got).toEqual([...logins].sort().slice(0, 50));
    expect(await search("9qqq")).toEqual(
      logins
        .filter((l) => l.includes("9qqq"))
        .sort()
        .slice(0, 50),
    );
  }, 60_000);
});

describe("the search limit", () => {
  test("searches per user per minute are limited: 429 rate_limited with Retry-After", async () => {
    const t = await startServer({ config: { limits: true, searchesPerMinute: 2 } });
    try {
      t.clock.freeze();
      const a = await register(t.url, "searcher");
      const b = await register(t.url, "other");
      const q = (who: Account) => call(t.url, "GET", "/v1/users?q=sea", { session: who.session });
      expect((await q(a)).status).toBe(200);
      expect((await q(a)).status).toBe(200);
      const r = await q(a);
      expectError(r, 429, "rate_limited");
      expect(r.headers.get("retry-after")).toBe("30");
      expect((await q(b)).status).toBe(200); // per user
      t.clock.advance(30_000);
      expect((await q(a)).body).toEqual([{ id: a.id, login: "searcher" }]);
    } finally {
      await t.stop();
    }
  });
});

// Accounts made before schema 3 were folded with NFC + upper/lower only, and could hold characters that
// are refused now. They keep logging in with what worked before; new look-alikes of them are refused.
describe("accounts from before the NFKC fold", () => {
  const OLD = [
    // login, its old fold
    ["ａｄｍｉｎ", "ａｄｍｉｎ"], // merged with admin by the new fold: kept apart
    ["admin\u200b", "admin\u200b"], // ditto (default-ignorables fold away)
    ["ｂｏｂ", "ｂｏｂ"], // alone under its new fold "bob"
  ] as const;

  test("every old account still logs in; merged ones are kept apart; look-alikes cannot register", async () => {
    const dir = mkdtempSync(join(tmpdir(), "echat-fold-"));
    const databaseUrl = STORE === "postgres" ? await freshDatabase(dir) : "";
    let t = await startServer({ dir, config: { databaseUrl } });
    const first = await register(t.url, "admin");
    await t.stop();
    await makeOld(dir, databaseUrl);
    t = await startServer({ dir, config: { databaseUrl } });
    try {
      const who = async (login: string) => {
        const r = await call(t.url, "POST", "/v1/login", { body: { login, password: "password123" } });
        expect(r.status).toBe(200);
        return (await call(t.url, "GET", "/v1/info", { session: r.body.session_id })).body.login;
      };
      // What logged in to an account before still does (the old fold picks it among those merged).
      expect(await who("admin")).toBe("admin");
      expect(await who("ADMIN")).toBe("admin");
      expect(await who("ａｄｍｉｎ")).toBe("ａｄｍｉｎ");
      expect(await who("ＡＤＭＩＮ")).toBe("ａｄｍｉｎ");
      expect(await who("admin\u200b")).toBe("admin\u200b");
      expect(await who("ｂｏｂ")).toBe("ｂｏｂ");
      expect(await who("BOB")).toBe("ｂｏｂ"); // the new fold finds an account alone under it
      // No new look-alike of any of them.
      for (const login of ["Admin", "ａｄｍｉｎ", "bob", "ＢＯＢ"]) {
        expectError(
          await call(t.url, "POST", "/v1/register", { body: { login, password: "password123" } }),
          422,
          "user_already_exists",
        );
      }
      const search = await call(t.url, "GET", "/v1/users?q=admin", { session: first.session });
      expect(search.body.map((u: any) => u.login)).toEqual(["admin", "ａｄｍｉｎ", "admin\u200b"]);
      expect((await call(t.url, "GET", "/v1/users?q=bob", { session: first.session })).body).toEqual([
        { id: expect.any(Number), login: "ｂｏｂ" },
      ]);
    } finally {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The database as schema 2 left it: the old accounts with their old folds, no search index.
  async function makeOld(dir: string, databaseUrl: string) {
    if (databaseUrl) {
      const sql = new SQL({ url: databaseUrl, max: 1 });
      const [{ password_hash }] = await sql`SELECT password_hash FROM users`;
      for (const [login, folded] of OLD)
        await sql`INSERT INTO users (login, login_folded, password_hash, created_at)
          VALUES (${login}, ${folded}, ${password_hash}, 0)`;
      await rewindPostgresTo2(sql);
      await sql.close();
      return;
    }
    const db = new Database(join(dir, "echat.db"));
    const { hash } = db.query<{ hash: string }, []>("SELECT password_hash AS hash FROM users").get()!;
    for (const [login, folded] of OLD)
      db.run("INSERT INTO users (login, login_folded, password_hash, created_at) VALUES (?, ?, ?, 0)", [
        login,
        folded,
        hash,
      ]);
    rewindSqliteTo2(db);
    db.close();
  }
});
