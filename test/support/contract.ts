// The server against its documents: every reply call() gets and every frame a Socket receives is
// checked against /v1/openapi.json and /v1/asyncapi.json (built from lib/http/api, as served) with a real
// JSON Schema validator. A status, field, header or frame the documents do not describe is a violation:
// call() throws it, a socket's next() throws it, and test/setup.ts fails the test that saw it.
// What was seen is written for scripts/api-coverage.ts (one file per test process).
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { buildAsyncApi, CLIENT_FRAMES, SERVER_FRAMES } from "../../lib/http/api/asyncapi.ts";
import { buildOpenApi } from "../../lib/http/api/openapi.ts";
import { OPERATIONS, type Operation } from "../../lib/http/api/operations.ts";

const openapi = buildOpenApi("test");
const asyncapi = buildAsyncApi("test");
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(openapi, "openapi");
ajv.addSchema(asyncapi, "asyncapi");

const pointer = (...parts: (string | number)[]) =>
  parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function validator(ref: string) {
  let v = validators.get(ref);
  if (!v) validators.set(ref, (v = ajv.compile({ $ref: ref })));
  return v;
}

// --- REST ---------------------------------------------------------------------------------------------
type Route = { path: string; pattern: RegExp; ops: Map<string, Operation> };
const routes: Route[] = [];
for (const op of OPERATIONS) {
  for (const path of [op.path, ...(op.aliases ?? [])]) {
    let route = routes.find((r) => r.path === path);
    if (!route) {
      const pattern = new RegExp(`^${path.replace(/[.]/g, "\\.").replace(/\{\w+\}/g, "[^/]+")}$`);
      routes.push((route = { path, pattern, ops: new Map() }));
    }
    route.ops.set(op.method, op);
  }
}

export function routeOf(pathname: string): Route | undefined {
  return routes.find((r) => r.pattern.test(pathname));
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const JSON_TYPE = "application/json; charset=utf-8";

// Why a reply is not what the OpenAPI document says, or undefined when it is.
export function checkReply(
  method: string,
  url: string,
  status: number,
  headers: Headers,
  body: unknown,
): string | undefined {
  const pathname = new URL(url, "http://x").pathname;
  const route = routeOf(pathname);
  const m = method.toUpperCase() === "HEAD" ? "GET" : method.toUpperCase();
  const op = route?.ops.get(m);
  const template = op ? op.path : route ? route.path : "(unknown path)";
  observe({ kind: "http", method: m, path: template, status, code: (body as any)?.error?.code });
  if (method.toUpperCase() === "OPTIONS" && status === 204) return; // CORS preflight
  const foreignOrigin = status === 403 && (body as any)?.error?.code === "forbidden_origin";
  if (foreignOrigin && STATE_CHANGING.has(m)) return generic("ForbiddenOrigin", body, headers, method);
  if (!route)
    return status === 404 ? generic("NotFound", body, headers, method) : `${status} on an unknown path (only 404)`;
  if (!op) {
    if (status !== 405) return `${status} for ${method} on ${route.path}, which has no such operation (only 405)`;
    const allow = new Set((headers.get("allow") ?? "").split(/,\s*/));
    const want = new Set([...route.ops.keys(), ...(route.ops.has("GET") ? ["HEAD"] : [])]);
    if (allow.size !== want.size || [...want].some((x) => !allow.has(x)))
      return `405 Allow "${headers.get("allow")}" but the document has ${[...want].join(", ")}`;
    return generic("MethodNotAllowed", body, headers, method);
  }
  const responses = (openapi.paths as any)[op.path][m.toLowerCase()].responses;
  if (!responses[status]) {
    if (status === 500 || status === 503) return generic("Unexpected", body, headers, method);
    return `${m} ${op.path} answered ${status}, not documented (documented: ${Object.keys(responses).join(", ")})`;
  }
  const where = `#/paths/${pointer(op.path, m.toLowerCase(), "responses", status)}`;
  return checkBody(where, responses[status], body, headers, method);
}

function generic(name: string, body: unknown, headers: Headers, method: string) {
  return checkBody(
    `#/components/responses/${name}`,
    (openapi.components.responses as any)[name],
    body,
    headers,
    method,
  );
}

function checkBody(where: string, response: any, body: unknown, headers: Headers, method: string) {
  const documented = new Set(Object.keys(response.headers ?? {}).map((h) => h.toLowerCase()));
  for (const h of ["retry-after", "link", "allow"]) {
    if (headers.has(h) && !documented.has(h)) return `${where}: header ${h} is not documented`;
  }
  if (!response.content) return;
  const [type] = Object.keys(response.content);
  const got = headers.get("content-type") ?? "";
  const typeOk = type === "application/json" ? got === JSON_TYPE : type === "*/*" || got.startsWith(type!);
  if (!typeOk) return `${where}: content-type ${got}`;
  if (method.toUpperCase() === "HEAD" || type !== "application/json") return;
  const v = validator(`openapi${where}/content/${pointer(type)}/schema`);
  if (!v(body)) return `${where}: ${ajv.errorsText(v.errors)}; body ${JSON.stringify(body).slice(0, 300)}`;
}

// A fetch for clients that take one (client/'s EchatClient): each reply is checked like call()'s.
export const checkedFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const res = await fetch(input, init);
  const url = input instanceof Request ? input.url : String(input);
  const text = await res.clone().text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  const problem = checkReply(init?.method ?? "GET", url, res.status, res.headers, body);
  if (problem) throw violation(`${init?.method ?? "GET"} ${url.slice(0, 120)}: ${problem}`);
  return res;
}) as typeof fetch;

// A Web Push payload (decrypted by test/support/push-service.ts) against the PushPayload schema: the problem, if any.
export function checkPushPayload(payload: unknown): string | undefined {
  const v = validator("openapi#/components/schemas/PushPayload");
  return v(payload) ? undefined : `push payload not as documented: ${ajv.errorsText(v.errors)}`;
}

// --- WebSocket frames -----------------------------------------------------------------------------------
const frameValidators = (frames: Record<string, unknown>) =>
  Object.keys(frames).map((name) => [name, validator(`asyncapi#/components/messages/${name}/payload`)] as const);
const serverFrames = frameValidators(SERVER_FRAMES);
const clientFrames = frameValidators(CLIENT_FRAMES);

// The AsyncAPI message a received frame is, or a violation.
export function checkFrame(frame: unknown): string | undefined {
  const match = serverFrames.find(([, v]) => v(frame));
  if (!match) return `frame not in the AsyncAPI document: ${JSON.stringify(frame).slice(0, 300)}`;
  const code = match[0] === "error" ? (frame as any).error.code : undefined;
  observe({ kind: "frame", name: match[0], code });
}

// A WebSocket for clients that take one (client/'s sockets): each frame received is checked like a test
// Socket's, and close codes are observed. A violation fails the test that saw it (test/setup.ts).
export class CheckedWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    this.addEventListener("message", (e) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(e.data));
      } catch {
        return void violation(`a frame that is not JSON: ${String(e.data).slice(0, 100)}`);
      }
      const problem = checkFrame(frame);
      if (problem) violation(problem);
    });
    this.addEventListener("close", (e) => observeClose(e.code));
  }

  override send(data: Parameters<WebSocket["send"]>[0]) {
    if (typeof data === "string") observeSent(JSON.parse(data));
    super.send(data);
  }
}

export function observeSent(frame: unknown) {
  observe({ kind: "sent", name: clientFrames.find(([, v]) => v(frame))?.[0] ?? "(not a documented frame)" });
}

export function observeClose(code: number) {
  observe({ kind: "close", code });
}

// --- violations and coverage ------------------------------------------------------------------------------
export const violations: string[] = [];
export function violation(problem: string): Error {
  violations.push(problem);
  return new Error(`API contract: ${problem}`);
}

const seen = new Set<string>();
let recording = true;
function observe(o: Record<string, unknown>) {
  if (recording) seen.add(JSON.stringify(o));
}

// For tests of the checker itself: what they make up is no observation of the server.
export function unrecorded<T>(check: () => T): T {
  recording = false;
  try {
    return check();
  } finally {
    recording = true;
  }
}

// Called once after the last test file (test/setup.ts).
export function writeCoverage() {
  const dir = process.env.ECHAT_API_COVERAGE_DIR || join(tmpdir(), "echat-api-coverage");
  mkdirSync(dir, { recursive: true });
  const store = process.env.ECHAT_TEST_STORE === "postgres" ? "postgres" : "sqlite";
  const lines = [...seen].map((s) => JSON.stringify({ store, ...JSON.parse(s) }));
  writeFileSync(join(dir, `${store}-${process.pid}.jsonl`), lines.join("\n") + "\n");
}
