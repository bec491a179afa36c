// What REST handlers may tell the realtime side, on every instance: sessions that ended, so their
// sockets close. Later features (membership changes, edits) add their notifications here.
export type Notifier = {
  sessionEnded(tokenHash: Uint8Array): void; // logout: that session's sockets close with 4001
  passwordChanged(userId: number, keep: Uint8Array): void; // every socket of the user but `keep`'s
};
