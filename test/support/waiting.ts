// The one way tests wait for an event: look again each time the source reports a change, until the
// condition holds or the time is up. Nothing sleeps in place of an event.

// What a wait is woken by: next(ms) resolves at the source's next change, or after ms at the latest.
export type Wake = { next(ms: number): Promise<void> };

// A source with events (a socket's inbox, a log, a child's output): its owner calls notify() on each change.
export class Changes implements Wake {
  private waiters = new Set<() => void>();

  notify() {
    for (const w of [...this.waiters]) w();
  }

  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}

// A source with no change event to await (a page in a browser, a port that is not open yet) is polled.
export const every = (intervalMs: number): Wake => ({ next: (ms) => Bun.sleep(Math.min(intervalMs, ms)) });

// check() returns the awaited thing, or undefined while it has not happened; it may throw to give up early.
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  wake: Wake,
  failure: () => string = () => `nothing matched within ${timeoutMs} ms`,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(failure());
    await wake.next(left);
  }
}
