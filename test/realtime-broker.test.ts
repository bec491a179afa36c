// The broker contract (lib/broker/broker.ts), unit-tested: every kind of delivery — message, membership
// change, typing, read, presence, and the three kicks — reaches the handler exactly once on every
// instance, the origin included; the memory broker synchronously. (The black-box side: test/groups*.test.ts.)
import { describe, expect, test } from "bun:test";
import type { Broker, BrokerEventHandler, Kick, Transport } from "../lib/broker/broker.ts";
import { createMemoryBroker } from "../lib/broker/memory.ts";
import { createSharedBroker } from "../lib/broker/shared.ts";
import { createLogger } from "../lib/log.ts";
import type { Config } from "../lib/config.ts";
import type { Message, RoomEvent, Store } from "../lib/store/store.ts";

const ROOM = 7;
const message = (id: number): Message => ({
  id,
  roomId: ROOM,
  userId: 1,
  text: `m${id}`,
  clientId: null,
  createdAt: 1_700_000_000_000 + id,
  seq: id,
});
const room = {
  id: ROOM,
  users: [],
  name: null,
  topic: null,
  kind: "direct" as const,
  public: false,
  ownerId: null,
  retention: null,
  seq: 3,
};
const joined: RoomEvent = { kind: "members", roomId: ROOM, seq: 3, users: [], added: [4], removed: [], by: 1, room };
const SOCKET = { socket: "the sender" }; // stands for the local socket a typing frame came from

// Records every call, and resolves waiters when a call matching their predicate arrives.
class Recorder implements BrokerEventHandler {
  calls: unknown[][] = [];
  private waiters: Array<{ match: (c: unknown[]) => boolean; resolve: () => void }> = [];
  private record(...call: unknown[]) {
    this.calls.push(call);
    this.waiters = this.waiters.filter((w) => !(w.match(call) && (w.resolve(), true)));
  }
  until(match: (c: unknown[]) => boolean) {
    if (this.calls.some(match)) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ match, resolve }));
  }
  message = (m: Message) => this.record("message", m.id);
  roomEvent = (e: RoomEvent) => this.record("roomEvent", e.seq);
  event = (room: number, kind: string, body: object, except?: object) =>
    this.record("event", room, kind, body, except === SOCKET ? "except sender" : except);
  presenceChanged = (room: number) => this.record("presence", room);
  kick = (k: Kick) => this.record("kick", k);
  interested = () => true;
  onlinePairs = (): Array<[number, number]> => [];
}

// Every kind of delivery, started on one broker; the durable ones in the room's order (seq 1, 2, 3).
function deliverEveryKind(broker: Broker) {
  broker.message(message(1));
  broker.message(message(2));
  broker.roomEvent(joined);
  broker.event(ROOM, "typing", { user_id: 1 }, SOCKET);
  broker.event(ROOM, "read", { user_id: 2, message_id: 2 });
  broker.presence(ROOM, 3, true);
  broker.kick({ session: "ab12" });
  broker.kick({ user: 1, keep: "cd34" });
  broker.kick({ room: ROOM, user: 2 });
}
const EXPECTED = (origin: boolean) => [
  ["message", 1],
  ["message", 2],
  ["roomEvent", 3],
  ["event", ROOM, "typing", { user_id: 1 }, origin ? "except sender" : undefined],
  ["event", ROOM, "read", { user_id: 2, message_id: 2 }, undefined],
  ["presence", ROOM],
  ["kick", { session: "ab12" }],
  ["kick", { user: 1, keep: "cd34" }],
  ["kick", { room: ROOM, user: 2 }],
];

// Instances joined by an in-process bus that, like Redis pub/sub, delivers every payload to every
// subscriber (the publisher too), asynchronously and in order.
function createBus() {
  const subscribers: Array<(payload: string) => void> = [];
  const presence = new Map<number, Map<string, number>>();
  const transport = (): Transport => ({
    name: "test bus",
    connected: () => true,
    maxPayload: 64 * 1024,
    async publish(payload) {
      queueMicrotask(() => {
        for (const s of subscribers) s(payload);
      });
    },
    async subscribe(onPayload) {
      subscribers.push(onPayload);
    },
    presence: {
      async set(room, key, expiresAt) {
        if (!presence.has(room)) presence.set(room, new Map());
        presence.get(room)!.set(key, expiresAt);
      },
      async remove(room, key) {
        presence.get(room)?.delete(key);
      },
      async list(room, now) {
        return [...(presence.get(room) ?? [])].filter(([, at]) => at > now).map(([key]) => key);
      },
    },
    async close() {},
  });
  return { transport };
}

// What the sequencer reads: the room starts empty; gaps would be read from here.
const store = {
  latestSeqs: async (rooms: number[]) => new Map(rooms.map((r) => [r, 0])),
  listFrames: async () => [],
} as unknown as Store;
const log = createLogger({ logLevel: "error", logFormat: "json" } as Config, () => {});

describe("the broker contract", () => {
  test("the memory broker hands every kind of delivery back to the handler at once, exactly once", async () => {
    const broker = createMemoryBroker();
    const handler = new Recorder();
    await broker.start(handler);
    deliverEveryKind(broker); // no await: the loopback is synchronous
    expect(handler.calls).toEqual(EXPECTED(true));
    await broker.close();
  });

  test("a shared broker delivers every kind exactly once on every instance, the origin included", async () => {
    const bus = createBus();
    const instances = await Promise.all(
      [0, 1, 2].map(async () => {
        const broker = createSharedBroker(bus.transport(), store, log, 60_000);
        const handler = new Recorder();
        await broker.start(handler);
        await broker.watch(ROOM);
        return { broker, handler };
      }),
    );
    const [origin, other] = instances;
    deliverEveryKind(origin!.broker);
    // The origin's handler has every delivery before the bus carries anything.
    expect(origin!.handler.calls).toEqual(EXPECTED(true));
    // Presence goes out once the shared set is written, later than the rest. After it, a last kick from
    // another instance: the bus keeps order, so once that is everywhere, anything sent twice would be too.
    await Promise.all(instances.map(({ handler }) => handler.until((c) => c[0] === "presence")));
    other!.broker.kick({ session: "last" });
    const isLast = (c: unknown[]) => c[0] === "kick" && (c[1] as { session?: string }).session === "last";
    await Promise.all(instances.map(({ handler }) => handler.until(isLast)));
    // In order per kind; presence may come after the kicks: compare as sets.
    const sorted = (calls: unknown[][]) => calls.map((c) => JSON.stringify(c)).sort();
    instances.forEach(({ handler }, i) => {
      expect(sorted(handler.calls.filter((c) => !isLast(c)))).toEqual(sorted(EXPECTED(i === 0)));
      expect(handler.calls.filter(isLast)).toHaveLength(1);
      expect(handler.calls.filter((c) => c[0] === "message")).toEqual([
        ["message", 1],
        ["message", 2],
      ]);
    });
    for (const { broker } of instances) await broker.close();
  });
});
