// A periodic job timed by the injected clock (so tests move time instead of waiting), checked every second of
// real time: first `everyMs` after start, never two runs at once. stop() ends it and waits for a run under way.
import type { Logger } from "./log.ts";

const CHECK_EVERY_MS = 1000;

type Periodic = { now: () => number; log: Logger; everyMs: number; what: string; run: () => Promise<unknown> };

export function startPeriodic({ now, log, everyMs, what, run }: Periodic) {
  let last = now();
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running || now() - last < everyMs) return;
    last = now();
    running = run()
      .catch((e) => log.error(`${what} failed`, { error: String(e) }))
      .finally(() => (running = null));
  }, CHECK_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
