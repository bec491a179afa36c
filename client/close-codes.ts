// The server's WebSocket close codes and whether a client reconnects after each (docs/api.md; the server's
// lib/errors.ts CLOSE, kept equal by test/client.test.ts). Any other code (a network drop: 1006) reconnects.
export const CLOSE_CODES = {
  1001: { reason: "server shutting down", reconnect: true },
  1009: { reason: "frame too large", reconnect: true },
  1013: { reason: "try again later", reconnect: true },
  4001: { reason: "logged out", reconnect: false },
  4003: { reason: "removed from room", reconnect: false },
} as const satisfies Record<number, { reason: string; reconnect: boolean }>;

export type CloseCode = keyof typeof CLOSE_CODES;

export function reconnectsAfter(code: number): boolean {
  return (CLOSE_CODES as Record<number, { reconnect: boolean }>)[code]?.reconnect ?? true;
}
