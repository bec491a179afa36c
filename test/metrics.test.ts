// The metrics this server adds for operators: one route label per route, invites used, bytes of stored files,
// and README listing every metric /metrics exposes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { makeInvite, registerWith, startWithAdmin } from "./support/admin.ts";
import { upload } from "./support/files.ts";
import { type Account, call, createRoom, register } from "./support/http.ts";
import { scrape } from "./support/metrics.ts";
import type { TestServer } from "./support/server.ts";

let s: TestServer, admin: Account;
beforeAll(async () => ({ s, admin } = await startWithAdmin()));
afterAll(() => s?.stop());

test("/v1/users and /v1/users/ are counted as one route", async () => {
  const bob = await register(s.url, "bob");
  for (const path of ["/v1/users?q=bo", "/v1/users/?q=bo"])
    expect((await call(s.url, "GET", path, { session: bob.session })).status).toBe(200);
  const m = await scrape(s.url);
  expect(m.get('echat_http_requests_total{method="GET",route="/v1/users",status="200"}')).toBe(2);
  expect([...m.keys()].filter((k) => k.includes('route="/v1/users/"'))).toEqual([]);
});

test("echat_invites_used_total counts registrations with an invite (the setup link too), not refused ones", async () => {
  const before = (await scrape(s.url)).get("echat_invites_used_total")!;
  expect(before).toBe(1); // the first admin, through the setup link
  const invite = await makeInvite(s.url, admin);
  await registerWith(s.url, "invited", invite.code);
  const refused = await call(s.url, "POST", "/v1/register", {
    body: { login: "late", password: "password123", invite: invite.code },
  });
  expect(refused.status).toBe(403); // its one use is gone
  expect((await scrape(s.url)).get("echat_invites_used_total")).toBe(2);
});

test("echat_files_stored_bytes is the bytes of every stored upload, read from the database", async () => {
  const before = (await scrape(s.url)).get("echat_files_stored_bytes")!;
  const carol = await register(s.url, "carol");
  const room = await createRoom(s.url, carol, []);
  expect((await upload(s.url, carol, room, new Uint8Array(1000))).status).toBe(200);
  expect((await upload(s.url, carol, room, new Uint8Array(234))).status).toBe(200);
  expect((await scrape(s.url)).get("echat_files_stored_bytes")).toBe(before + 1234);
});

test("README lists every metric /metrics exposes, echat_build_info included", async () => {
  const body = (await call<string>(s.url, "GET", "/metrics")).body;
  const families = [...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  expect(families).toContain("echat_build_info");
  const readme = await Bun.file(join(import.meta.dir, "..", "README.md")).text();
  const operations = readme.slice(readme.indexOf("## Operations"), readme.indexOf("## How it is built"));
  expect(families.filter((f) => !operations.includes(`\`${f}`))).toEqual([]);
});
