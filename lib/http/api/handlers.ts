// GET /v1/openapi.json and /v1/asyncapi.json: built from the schema objects once, on first request,
// and answered as any JSON of the API (nothing is read from disk: the binary carries them).
import { buildAsyncApi } from "./asyncapi.ts";
import { buildOpenApi } from "./openapi.ts";

export function documentHandlers(version: string) {
  let openapi: string | undefined;
  let asyncapi: string | undefined;
  const serve = (text: string) =>
    new Response(text, { headers: { "content-type": "application/json; charset=utf-8" } });
  return {
    handleOpenApi: () => serve((openapi ??= JSON.stringify(buildOpenApi(version)))),
    handleAsyncApi: () => serve((asyncapi ??= JSON.stringify(buildAsyncApi(version)))),
  };
}
