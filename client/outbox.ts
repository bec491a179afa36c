// Sends waiting for their acknowledgement, by client_id, in the order they were made. A socket sends each
// on every connection until one acknowledges it; the server's client_id window makes the retries safe.
import { type Backoff, backoffDelay } from "./backoff.ts";
import type { ApiError } from "./errors.ts";

const RETRYABLE: ReadonlySet<string> = new Set(["internal_error", "unavailable"]); // not stored: send again
export type Pending<T> = {
  clientId: string;
  frame: object;
  sent: boolean; // went out on some connection (so it may already be stored)
  refusals: number; // times the server answered internal_error or unavailable (not stored)
  resolve: (ack: T) => void;
  reject: (e: Error) => void;
};

export class Outbox<T> {
  private pending = new Map<string, Pending<T>>();

  add(clientId: string, frame: object): { entry: Pending<T>; acked: Promise<T> } {
    let entry!: Pending<T>;
    const acked = new Promise<T>((resolve, reject) => {
      entry = { clientId, frame, sent: false, refusals: 0, resolve, reject };
    });
    this.pending.delete(clientId); // a send again with the same client_id replaces the earlier one
    this.pending.set(clientId, entry);
    return { entry, acked };
  }

  get size() {
    return this.pending.size;
  }

  entries(): Pending<T>[] {
    return [...this.pending.values()];
  }

  has(clientId: string) {
    return this.pending.has(clientId);
  }

  settle(clientId: string, ack: T): boolean {
    const entry = this.pending.get(clientId);
    if (!entry) return false;
    this.pending.delete(clientId);
    entry.resolve(ack);
    return true;
  }

  fail(clientId: string, e: Error): boolean {
    const entry = this.pending.get(clientId);
    if (!entry) return false;
    this.pending.delete(clientId);
    entry.reject(e);
    return true;
  }

  // An error frame answering a send: a refusal that stored nothing (internal_error, unavailable) marks it unsent
  // and calls resend after the send's growing backoff (if still pending); any other rejects it. False when no
  // pending send has that client_id: the error is the caller's to report.
  refused(clientId: string | undefined, e: ApiError, backoff: Backoff, resend: (entry: Pending<T>) => void): boolean {
    const entry = clientId === undefined ? undefined : this.pending.get(clientId);
    if (!entry) return false;
    if (!RETRYABLE.has(e.code)) return this.fail(entry.clientId, e);
    entry.sent = false; // it goes out again after a pause, or on the next connection
    setTimeout(
      () => this.pending.get(entry.clientId) === entry && resend(entry),
      backoffDelay(entry.refusals++, backoff),
    );
    return true;
  }

  failAll(e: Error) {
    for (const id of [...this.pending.keys()]) this.fail(id, e);
  }
}
