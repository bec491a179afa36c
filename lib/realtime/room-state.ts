// The one owner of what this instance knows per room: which sockets are reading their backlog (with
// the live messages buffered for them meanwhile), and who is online. Resume, presence and delivery
// ask it; nobody else keeps per-room socket state.
import type { Message, RoomEvent, RoomFrame } from "../store/store.ts";

export class RoomState {
  private joining = new Map<number, Map<object, RoomFrame[]>>(); // room -> socket reading its backlog -> buffer
  private online = new Map<number, Map<number, number>>(); // room -> user -> open sockets

  // The socket reads its backlog: live messages of the room are buffered for it until finishJoining.
  startJoining(room: number, socket: object) {
    let sockets = this.joining.get(room);
    if (!sockets) this.joining.set(room, (sockets = new Map()));
    sockets.set(socket, []);
  }

  // A live message: kept for every socket still reading the room's backlog.
  bufferMessage(m: Message) {
    const sockets = this.joining.get(m.roomId);
    if (!sockets) return;
    const f: RoomFrame = { kind: "message", message: m };
    for (const buffered of sockets.values()) buffered.push(f);
  }

  // A live membership or room change, likewise.
  buffer(e: RoomEvent) {
    const sockets = this.joining.get(e.roomId);
    if (sockets) for (const buffered of sockets.values()) buffered.push(e);
  }

  // What was buffered for the socket so far; it stays joining, and later messages are buffered anew.
  takeBuffered(room: number, socket: object): RoomFrame[] {
    const sockets = this.joining.get(room);
    const buffered = sockets?.get(socket);
    if (!buffered?.length) return [];
    sockets!.set(socket, []);
    return buffered;
  }

  // Done reading (or closed): what was buffered for the socket; undefined when it was not joining.
  finishJoining(room: number, socket: object): RoomFrame[] | undefined {
    const sockets = this.joining.get(room);
    const buffered = sockets?.get(socket);
    if (!buffered) return undefined;
    sockets!.delete(socket);
    if (sockets!.size === 0) this.joining.delete(room);
    return buffered;
  }

  // A socket of the user went live in the room; true when it is the user's first there.
  arrive(room: number, user: number): boolean {
    let users = this.online.get(room);
    if (!users) this.online.set(room, (users = new Map()));
    const before = users.get(user) ?? 0;
    users.set(user, before + 1);
    return before === 0;
  }

  // A live socket of the user closed; true when it was the user's last in the room.
  leave(room: number, user: number): boolean {
    const users = this.online.get(room);
    const n = users?.get(user) ?? 0;
    if (n > 1) {
      users!.set(user, n - 1);
      return false;
    }
    users?.delete(user);
    if (users?.size === 0) this.online.delete(room);
    return true;
  }

  users(room: number): number[] {
    return [...(this.online.get(room)?.keys() ?? [])];
  }

  interested(room: number): boolean {
    return this.online.has(room) || this.joining.has(room);
  }

  pairs(): Array<[room: number, user: number]> {
    return [...this.online].flatMap(([room, users]) => [...users.keys()].map((u): [number, number] => [room, u]));
  }

  get roomCount(): number {
    return this.online.size;
  }
}
