import type { RoomEvent, RoomSettings } from "../store/store.ts";

// What REST handlers may tell the realtime side. The hub implements it through the broker, so the
// sockets concerned close on every instance. Durable changes (membership, room, a message's edit, delete or
// reaction) all go out as room events, in the room's order.
export type Notifier = {
  sessionEnded(tokenHash: Uint8Array): void; // logout: that session's sockets close with 4001
  passwordChanged(userId: number, keep: Uint8Array): void; // every socket of the user but `keep`'s, with 4001
  memberRemoved(roomId: number, userId: number): void; // the user's sockets in that room close with 4003
  roomChanged(events: RoomEvent[]): void; // changes just stored, delivered in the room's order
  userEnded(userId: number): void; // disabled or deleted: every socket of the user, with 4001
  settingsChanged(roomId: number, userId: number, settings: RoomSettings): void; // to the user's streams
};
