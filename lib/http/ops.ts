// Operations: liveness, readiness (the database answers, not shutting down), Prometheus metrics.
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Store } from "../store/store.ts";
import { errorResponse, json } from "./respond.ts";

export function opsHandlers(deps: { store: Store; log: Logger; metrics: Metrics; stopping: () => boolean }) {
  const { store, log, metrics, stopping } = deps;
  return {
    handleHealth: () => json({ status: "ok" }),

    async handleReady() {
      if (stopping()) return errorResponse("unavailable", "Shutting down");
      try {
        await store.ping();
      } catch (e) {
        log.error("readiness check: the database did not answer", { error: String(e) });
        return errorResponse("unavailable", "The database did not answer");
      }
      return json({ status: "ok", database: "ok" });
    },

    handleMetrics: async () =>
      new Response(await metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      }),
  };
}
