// The API documents: served by the server as built from lib/http/api, and describing exactly the route
// table (a route the OpenAPI document lacks fails here; so does a documented path the server lacks).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pkg from "../package.json" with { type: "json" };
import { ERRORS, type ErrorCode } from "../lib/errors.ts";
import { buildAsyncApi } from "../lib/http/api/asyncapi.ts";
import { buildOpenApi } from "../lib/http/api/openapi.ts";
import { OPERATIONS } from "../lib/http/api/operations.ts";
import { checkFrame as frame, checkReply as reply, unrecorded } from "./support/contract.ts";
import { call } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";

// The checker's own tests make up replies: no observation of the server for the coverage.
const checkReply = (...a: Parameters<typeof reply>) => unrecorded(() => reply(...a));
const checkFrame = (f: unknown) => unrecorded(() => frame(f));

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

// The route table's paths in OpenAPI form; the web client's private bundle path is no API.
const tablePaths = () =>
  s.routePaths.filter((p) => !p.startsWith("/_bundle-")).map((p) => p.replace(/:(\w+)/g, "{$1}"));
const documented = [...new Set(OPERATIONS.flatMap((op) => [op.path, ...(op.aliases ?? [])]))];

describe("the API documents", () => {
  test("GET /v1/openapi.json serves the OpenAPI 3.1 document built from lib/http/api", async () => {
    const r = await call(s.url, "GET", "/v1/openapi.json");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.body).toEqual(JSON.parse(JSON.stringify(buildOpenApi(pkg.version))));
  });

  test("GET /v1/asyncapi.json serves the AsyncAPI 3.0 document built from lib/http/api", async () => {
    const r = await call(s.url, "GET", "/v1/asyncapi.json");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.body).toEqual(JSON.parse(JSON.stringify(buildAsyncApi(pkg.version))));
  });

  test("every path of the route table is in the OpenAPI document, and every documented path is served", () => {
    expect(tablePaths().toSorted()).toEqual(documented.toSorted());
  });

  test("every route's methods (its 405 Allow header) are the document's operations on that path", async () => {
    for (const path of tablePaths()) {
      // call() compares the Allow header of a 405 with the document's operations on the path.
      const r = await call(s.url, "OPTIONS", path.replace(/\{\w+\}/g, "1"));
      expect({ path, status: r.status }).toEqual({ path, status: 405 });
    }
  });

  test("each operation has a summary, and each error code sits under its status in the catalogue", () => {
    const doc = buildOpenApi(pkg.version);
    for (const op of OPERATIONS) {
      const o = (doc.paths as any)[op.path][op.method.toLowerCase()];
      expect(o.summary.length).toBeGreaterThan(0);
      for (const [status, response] of Object.entries<any>(o.responses)) {
        const codes: ErrorCode[] =
          response.content?.["application/json"]?.schema?.properties?.error?.properties?.code?.enum ?? [];
        for (const code of codes) expect({ code, status: String(ERRORS[code][0]) }).toEqual({ code, status });
      }
    }
  });
});

// The checker itself (test/support/contract.ts), on replies no server here would send.
describe("the contract check", () => {
  const headers = (h: Record<string, string> = {}) =>
    new Headers({ "content-type": "application/json; charset=utf-8", ...h });
  const error = (code: string) => ({ error: { code, message: "m" } });

  test.each([
    [
      "an undocumented field",
      "GET",
      "/v1/info",
      200,
      {},
      { id: 1, login: "a", admin: true, x: 1 },
      "additional properties",
    ],
    ["an undocumented status", "GET", "/v1/info", 422, {}, error("invalid_json"), "not documented"],
    ["a code of another route", "GET", "/v1/info", 401, {}, error("room_not_found"), "allowed values"],
    ["an undocumented header", "GET", "/v1/users", 200, { "retry-after": "1" }, [], "retry-after"],
    ["a wrong Allow", "DELETE", "/v1/info", 405, { allow: "GET" }, error("method_not_allowed"), "Allow"],
    ["a 200 on an unknown path", "GET", "/v2/info", 200, {}, {}, "unknown path"],
  ] as const)("refuses %s", (_, method, path, status, extra, body, why) => {
    expect(checkReply(method, path, status, headers(extra), body)).toContain(why);
  });

  test("accepts the generic answers and refuses an undocumented frame", () => {
    expect(checkReply("GET", "/nowhere", 404, headers(), error("not_found"))).toBeUndefined();
    expect(
      checkReply("PUT", "/v1/info", 405, headers({ allow: "GET, HEAD" }), error("method_not_allowed")),
    ).toBeUndefined();
    expect(checkFrame({ type: "typing", room_id: 1, user_id: 2 })).toBeUndefined();
    expect(checkFrame({ type: "typing", room_id: 1, user_id: 2, extra: 1 })).toContain("not in the AsyncAPI document");
    expect(checkFrame({ type: "shout", room_id: 1 })).toContain("not in the AsyncAPI document");
  });
});
