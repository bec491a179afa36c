// Who is online, for the whole page, from the user stream's presence frames: a user is online while they
// have any socket anywhere. Unknown (nobody) while the stream is not live; the server tells again once synced.
import type { UserStream } from "../client/index.ts";

export class Presence {
  private online = new Set<number>();
  private listeners = new Set<() => void>();

  constructor(stream: UserStream) {
    stream.on("presence", (f) => {
      if (f.online) this.online.add(f.user_id);
      else this.online.delete(f.user_id);
      this.changed();
    });
    stream.on("state", (s) => {
      if (s.state === "open" || !this.online.size) return;
      this.online.clear();
      this.changed();
    });
  }

  // Of these users, the ones online now.
  among(ids: number[]): number[] {
    return ids.filter((id) => this.online.has(id));
  }

  // Calls listener on every change; returns the function that stops it.
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    for (const listener of this.listeners) listener();
  }
}
