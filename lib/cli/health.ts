// `echat health`: asks a running server whether it is ready, for a container's HEALTHCHECK (the runtime
// image has no curl; the binary asks itself). Exit 0 when GET /readyz answers 200, else 1.
import type { Config } from "../config.ts";
import { type Command, Failure, out, UsageError } from "./command.ts";

const TIMEOUT_MS = 5000;

export const HEALTH_COMMANDS: Record<string, Command> = {
  health: {
    args: [],
    summary:
      "ask the server on --host/--port (or --url) whether it is ready: GET /readyz; exit 0 on 200, else 1 " +
      "(for container health checks)",
    options: { url: { type: "string" } },
    settings: ["host", "port"],
    async run({ config, values }) {
      const base = values.url ?? localUrl(config);
      if (typeof base !== "string" || !/^https?:\/\//.test(base)) throw new UsageError("--url must be http(s)://…");
      const url = new URL("/readyz", base).href;
      const r = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) }).catch((e) => {
        throw new Failure(`not ready: ${url}: ${e instanceof Error ? e.message : e}`);
      });
      if (r.status !== 200) throw new Failure(`not ready: ${url} answered ${r.status}`);
      out(`ready: ${url}`);
      return 0;
    },
  },
};

// The server's own address, from the same settings it listens with; a wildcard host means this machine.
function localUrl(config: Pick<Config, "host" | "port">): string {
  const host = ["", "0.0.0.0", "::", "[::]"].includes(config.host) ? "127.0.0.1" : config.host;
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${config.port}`;
}
