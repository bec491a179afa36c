// Message changes for tests: a client's copy of a room built from frames, and a room where random sends,
// edits, deletes and reactions happen (test/changes-property.test.ts, test/changes-scale.test.ts).
import { expect } from "bun:test";
import type { Account } from "./http.ts";
import { call } from "./http.ts";
import type { Rng } from "./prng.ts";
import { sendAll, type Socket } from "./socket.ts";

// A client's copy of one room: its messages by id as the API shows them, and the last seq it got.
export class Copy {
  messages = new Map<number, any>();
  constructor(public seq: number) {}

  apply(f: any) {
    expect(f.seq).toBeGreaterThan(this.seq); // in order, never twice (a deleted message leaves a gap)
    this.seq = f.seq;
    if (f.type === "message") {
      const { type: _, ...m } = f;
      this.messages.set(m.id, m);
    } else if (f.type === "edit") {
      // A tombstone: deleted since (its delete follows); not held when it was sent and deleted while away.
      if (!f.message.deleted) this.messages.set(f.message.id, f.message);
    } else if (f.type === "delete") this.messages.delete(f.message_id);
    else if (f.type === "reaction") {
      const m = this.messages.get(f.message_id);
      if (!m) return; // sent and deleted while away: its delete follows
      if (f.reactions.length) m.reactions = f.reactions;
      else delete m.reactions;
    } else throw new Error(`unexpected frame ${JSON.stringify(f)}`);
  }
}

// The room's history by REST, as a copy holds it.
export async function historyOf(base: string, room: number, who: Account): Promise<Map<number, any>> {
  const r = await call(base, "GET", `/v1/rooms/${room}/messages?limit=200`, { session: who.session });
  return new Map<number, any>(r.body.map((m: any) => [m.id, m]));
}

const EMOJI = ["👍", "🎉", "❤️", "😂"];

// A room where random changes happen: senders send through their sockets, REST calls go to `base` (pick one
// per change for several instances); reactors may be anyone in the room.
export class ChangingRoom {
  private live: number[] = [];
  private authors = new Map<number, Account>();
  constructor(
    readonly id: number,
    private senders: { who: Account; sock: Socket }[],
    private reactors: Account[],
  ) {}

  async change(r: Rng, base: string) {
    const roll = r.next();
    if (this.live.length === 0 || roll < 0.3) {
      const { who, sock } = r.pick(this.senders);
      const [m] = await sendAll(sock, [`m${r.int(1e6)}`]);
      this.live.push(m.id);
      this.authors.set(m.id, who);
      return;
    }
    const id = r.pick(this.live);
    const author = this.authors.get(id)!;
    const at = `/v1/rooms/${this.id}/messages/${id}`;
    let res;
    if (roll < 0.55) res = await call(base, "PATCH", at, { session: author.session, body: { text: `e${r.int(1e6)}` } });
    else if (roll < 0.7) {
      res = await call(base, "DELETE", at, { session: author.session });
      this.live.splice(this.live.indexOf(id), 1);
    } else {
      const emoji = encodeURIComponent(r.pick(EMOJI));
      const method = r.chance(0.7) ? "PUT" : "DELETE";
      res = await call(base, method, `${at}/reactions/${emoji}`, { session: r.pick(this.reactors).session });
    }
    expect(res.status).toBe(200);
  }
}
