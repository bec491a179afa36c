// Reconnect delays: doubling from initialMs up to maxMs, each drawn in [half, whole] of its step ("equal
// jitter"), so clients dropped together do not come back together and no delay exceeds maxMs.
export type Backoff = { initialMs: number; maxMs: number; factor: number };

export const DEFAULT_BACKOFF: Backoff = { initialMs: 300, maxMs: 10_000, factor: 2 };

export function backoffDelay(attempt: number, b: Backoff, random = Math.random): number {
  const step = Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt));
  return Math.round(step / 2 + (random() * step) / 2);
}
