// The per-room ordering of the shared broker (shared.ts): a durable frame (message, membership or room
// change) reaches this instance's sockets only after its predecessor in the room's order (seq - 1),
// and gaps are read from the store.
import type { BrokerEventHandler } from "./broker.ts";
import type { Logger } from "../log.ts";
import { frameSeq, type RoomFrame, type Store } from "../store/store.ts";

const GAP_WAIT_MS = 50; // a missing predecessor usually arrives this soon from another instance
const FILL_PAGE = 200;
const SWEEP_MS = 1000; // how soon a message stored but never announced (its instance died) is delivered

// Per room: deliver frame `seq` only once seq - 1 was delivered. A frame whose predecessor has not
// come is held; if it does not come within GAP_WAIT_MS, the gap is read from the store. That read is
// complete: seqs commit in order within a room, so everything before a committed frame is committed too.
type Held = { seq: number; f?: RoomFrame };

export class Sequencer {
  private last = new Map<number, number>(); // room -> last seq delivered
  private held = new Map<number, Held[]>();
  private timers = new Map<number, ReturnType<typeof setTimeout>>();
  private filling = new Set<number>();
  private reading: { rooms: Set<number>; seqs: Promise<Map<number, number>> } | null = null; // watch()
  private stopped = false;
  private sweeper = setInterval(() => {
    this.sweep().catch((e) => this.log.warn("checking for unannounced messages failed", { error: String(e) }));
  }, SWEEP_MS);

  constructor(
    private store: Store,
    private handler: BrokerEventHandler,
    private log: Logger,
  ) {
    this.sweeper.unref();
  }

  // The room's newest seq becomes the starting point, unless frames already gave one. Every frame
  // after it is then delivered here, so a socket subscribed after this call misses none.
  // Rooms watched in the same turn (a stream's resume watches all its rooms) are read in one query.
  async watch(room: number) {
    if (this.last.has(room)) return;
    const latest = (await this.latest(room)) ?? 0;
    if (!this.last.has(room)) this.last.set(room, latest);
  }

  private latest(room: number): Promise<number | undefined> {
    if (!this.reading) {
      const rooms = new Set<number>();
      const seqs = Promise.resolve().then(() => {
        this.reading = null;
        return this.store.latestSeqs([...rooms]);
      });
      this.reading = { rooms, seqs };
    }
    this.reading.rooms.add(room);
    return this.reading.seqs.then((seqs) => seqs.get(room));
  }

  position(room: number) {
    return this.last.get(room);
  }

  // f: absent when the frame travelled without its body (too large); it is read from the store.
  // kind: an event's kind, said when its body is absent.
  push(room: number, seq: number, f?: RoomFrame, kind?: RoomFrame["kind"]) {
    const last = this.last.get(room);
    if (last !== undefined && seq <= last) return; // a duplicate, or already filled from the store
    // Nobody here listens: nothing to order, remember where the room is. A membership change still goes
    // to the handler: it may add a user whose stream is here to the room.
    if (!this.handler.interested(room)) {
      this.last.set(room, seq);
      if (f?.kind === "members") this.handler.roomEvent(f);
      else if (!f && kind === "members") void this.readMembers(room, seq);
      return;
    }
    // Not watched: start from this frame.
    if (last === undefined) this.last.set(room, seq - 1);
    let list = this.held.get(room);
    if (!list) this.held.set(room, (list = []));
    list.push({ seq, f });
    this.drain(room);
    if (this.held.get(room)?.length && !this.timers.has(room)) {
      // A frame that came without its body and is next in line is read at once; a gap waits a little.
      const next = !f && seq - 1 === this.last.get(room);
      this.timers.set(
        room,
        setTimeout(() => this.fill(room), next ? 0 : GAP_WAIT_MS),
      );
    }
  }

  private drain(room: number) {
    const list = this.held.get(room);
    if (!list) return;
    for (;;) {
      const last = this.last.get(room)!;
      const i = list.findIndex((h) => h.seq === last + 1 && h.f);
      if (i < 0) break;
      const [h] = list.splice(i, 1);
      this.last.set(room, h!.seq);
      this.deliver(h!.f!);
    }
    const last = this.last.get(room)!;
    const rest = list.filter((h) => h.seq > last);
    if (rest.length) this.held.set(room, rest);
    else {
      this.held.delete(room);
      clearTimeout(this.timers.get(room));
      this.timers.delete(room);
    }
  }

  private deliver(f: RoomFrame) {
    if (f.kind === "message") this.handler.message(f.message);
    else this.handler.roomEvent(f);
  }

  // A members change too large for the transport, in a room nobody here listens to: read and handed on.
  private async readMembers(room: number, seq: number) {
    try {
      const [f] = await this.store.listFrames(room, seq - 1, 1);
      if (f?.kind === "members" && f.seq === seq) this.handler.roomEvent(f);
    } catch (e) {
      this.log.warn("reading a members change from the store failed", { room, seq, error: String(e) });
    }
  }

  // Reads the store after the last delivered seq: up to the newest held frame, or (toEnd) to the end.
  private async fill(room: number, toEnd = false) {
    this.timers.delete(room);
    if (this.filling.has(room) || this.stopped) return;
    this.filling.add(room);
    try {
      const target = toEnd ? Infinity : Math.max(0, ...(this.held.get(room) ?? []).map((h) => h.seq));
      while ((this.last.get(room) ?? 0) < target) {
        const page = await this.store.listFrames(room, this.last.get(room) ?? 0, FILL_PAGE);
        this.log.debug("reading a gap from the store", { room, after: this.last.get(room) ?? 0, got: page.length });
        for (const f of page) {
          if (frameSeq(f) <= (this.last.get(room) ?? 0)) continue;
          this.last.set(room, frameSeq(f));
          if (this.handler.interested(room)) this.deliver(f);
        }
        if (page.length < FILL_PAGE) break;
      }
      this.drain(room);
    } catch (e) {
      this.log.warn("filling a gap from the store failed; retrying", { room, error: String(e) });
      if (!this.timers.has(room))
        this.timers.set(
          room,
          setTimeout(() => this.fill(room, toEnd), 1000),
        );
    } finally {
      this.filling.delete(room);
    }
    if (this.held.get(room)?.length && !this.timers.has(room) && !this.stopped) {
      this.timers.set(
        room,
        setTimeout(() => this.fill(room), GAP_WAIT_MS),
      );
    }
  }

  // After a lost connection: whatever was published meanwhile is in the store.
  catchUp() {
    for (const room of this.last.keys()) if (this.handler.interested(room)) void this.fill(room, true);
  }

  // An instance that crashed after storing but before publishing leaves a tail nobody announces:
  // once a second, one query for the newest seqs of the rooms watched here. A frame that was
  // already newest a sweep ago and still is not delivered will not come by the broker: read it.
  private seen = new Map<number, number>();
  async sweep() {
    const rooms = [...this.last.keys()].filter((room) => this.handler.interested(room));
    if (rooms.length === 0) return;
    const latest = await this.store.latestSeqs(rooms);
    for (const [room, id] of this.seen) {
      if (id > (this.last.get(room) ?? 0) && !this.timers.has(room)) void this.fill(room, true);
    }
    this.seen = latest;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const t of this.timers.values()) clearTimeout(t);
  }
}
