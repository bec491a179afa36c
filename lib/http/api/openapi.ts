// The OpenAPI 3.1 document, built from OPERATIONS and SCHEMAS: GET /v1/openapi.json.
import { ERRORS, type ErrorCode } from "../../errors.ts";
import { OPERATIONS, type Operation } from "./operations.ts";
import { errorSchema, REST_SCHEMAS, ref, type Schema } from "./schemas.ts";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
// Any operation may answer these when something unexpected happens (or the database is away).
export const UNEXPECTED: ErrorCode[] = ["internal_error", "unavailable"];

// Every code an operation may answer, by status, with the generic ones of its kind added.
export function errorsByStatus(op: Operation): Map<number, ErrorCode[]> {
  const codes: ErrorCode[] = [];
  if (op.auth !== "none") codes.push("unauthorized");
  if (STATE_CHANGING.has(op.method) || op.auth === "socket") codes.push("forbidden_origin");
  if (op.body || op.rawBody) codes.push("payload_too_large");
  codes.push(...(op.errors ?? []));
  const out = new Map<number, ErrorCode[]>();
  for (const code of codes) out.set(ERRORS[code][0], [...(out.get(ERRORS[code][0]) ?? []), code]);
  return out;
}

const header = (description: string, schema: Schema) => ({ description, schema });
const RETRY_AFTER = header("seconds to wait before retrying", { type: "integer", minimum: 1 });
const jsonContent = (schema: Schema) => ({ "application/json": { schema } });
const errorResponse = (codes: ErrorCode[], retryAfter = false) => ({
  description: codes.map((c) => `\`${c}\`: ${ERRORS[c][1]}`).join("; "),
  ...(retryAfter ? { headers: { "Retry-After": RETRY_AFTER } } : {}),
  content: jsonContent(errorSchema(codes)),
});

function responses(op: Operation) {
  const { status, description, body, type, link } = op.ok;
  const schema = typeof body === "string" ? ref(body) : body;
  const ok: Record<string, unknown> = { description };
  if (link) ok.headers = { Link: header('the next page, `<...>; rel="next"`, when more follow', { type: "string" }) };
  if (schema) ok.content = { [type ?? "application/json"]: { schema } };
  const out: Record<string, unknown> = { [status]: ok };
  for (const more of op.more ?? []) {
    out[more.status] = {
      description: more.description,
      ...(more.type ? { content: { [more.type]: { schema: { type: "string", format: "binary" } } } } : {}),
    };
  }
  for (const [s, codes] of errorsByStatus(op)) out[s] = errorResponse(codes, op.retryAfter || s === 503);
  out.default = { $ref: "#/components/responses/Unexpected" };
  return out;
}

const SESSION = [{ session: [] }, { bearer: [] }];

function operation(op: Operation) {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    description: "a positive integer; anything else answers as a room that does not exist",
    schema: { type: "integer", minimum: 1 },
    ...op.pathParams?.[name!],
  }));
  return {
    operationId: operationId(op),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security: op.auth === "none" ? [] : op.auth === "socket" ? [...SESSION, { sessionQuery: [] }] : SESSION,
    parameters: [...pathParams, ...(op.params ?? [])],
    ...(op.body ? { requestBody: { required: true, content: jsonContent(ref(op.body)) } } : {}),
    ...(op.rawBody
      ? {
          requestBody: {
            required: true,
            description: op.rawBody.description,
            content: { [op.rawBody.type]: { schema: { type: "string", format: "binary" } } },
          },
        }
      : {}),
    responses: responses(op),
  };
}

export function operationId(op: Operation): string {
  const words = op.path.replace(/[{}]/g, "").split(/[/.]/).filter(Boolean);
  return [op.method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join("") || "getRoot";
}

const DESCRIPTION = `The chat API of echat. Human reference: docs/api.md; the room WebSocket: /v1/asyncapi.json.

Every operation also answers:
- \`404 not_found\` for a path not listed here, \`405 method_not_allowed\` with an \`Allow\` header for a listed
  path with another method (\`HEAD\` is served wherever \`GET\` is);
- \`403 forbidden_origin\` for a POST, PUT, PATCH or DELETE (and a WebSocket upgrade) with a foreign \`Origin\`;
- \`204\` to a CORS preflight (\`OPTIONS\`) from an origin allowed by \`--cors-origins\`;
- \`500 internal_error\` and \`503 unavailable\` (with \`Retry-After\` when the database is busy).`;

export function buildOpenApi(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method.toLowerCase()] = operation(op);
  return {
    openapi: "3.1.0",
    info: {
      title: "echat",
      version,
      description: DESCRIPTION,
      license: { name: "Proprietary", identifier: "LicenseRef-echat" },
    },
    servers: [{ url: "/", description: "the server that serves this document" }],
    security: SESSION,
    tags: TAGS,
    paths,
    components: {
      schemas: REST_SCHEMAS,
      securitySchemes: {
        session: { type: "apiKey", in: "header", name: "X-Session-Id", description: "40 lowercase hex" },
        bearer: { type: "http", scheme: "bearer", description: "the same session id" },
        sessionQuery: { type: "apiKey", in: "query", name: "session_id", description: "WebSocket only" },
      },
      responses: GENERIC,
    },
  };
}

const TAGS = [
  { name: "accounts", description: "register, log in and out, password" },
  { name: "sessions", description: "the caller's sessions" },
  { name: "push", description: "Web Push: the server's VAPID key and the caller's subscriptions" },
  { name: "invites", description: "invite links (admins)" },
  { name: "admin", description: "user management (admins)" },
  { name: "users", description: "user search" },
  { name: "rooms", description: "rooms of the caller" },
  { name: "messages", description: "history" },
  { name: "realtime", description: "the room WebSocket's upgrade (frames: /v1/asyncapi.json)" },
  { name: "documents", description: "the machine-readable API" },
  { name: "operations", description: "probes and metrics; no session" },
  { name: "web", description: "the built-in web client" },
];

// Answers of any path or method, described once (the suite accepts them everywhere).
const GENERIC = {
  Unexpected: errorResponse(UNEXPECTED, true),
  NotFound: errorResponse(["not_found"]),
  MethodNotAllowed: {
    ...errorResponse(["method_not_allowed"]),
    headers: { Allow: header("the path's methods, e.g. `GET, HEAD`", { type: "string" }) },
  },
  ForbiddenOrigin: errorResponse(["forbidden_origin"]),
  Preflight: { description: "CORS preflight from an allowed origin (no body)" },
};
