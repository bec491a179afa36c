// Read markers as messages are seen: a message counts once most of it was on screen while the page
// was visible. The newest seen id goes to the server, batched, and never backwards.
export class ReadTracker {
  private unseen = new Set<Element>();
  private newest = 0;
  private sent = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private observer: IntersectionObserver;

  constructor(
    root: HTMLElement,
    private send: (messageId: number) => boolean,
  ) {
    this.observer = new IntersectionObserver((entries) => this.onSeen(entries), { root, threshold: 0.6 });
    document.addEventListener("visibilitychange", this.recheck);
  }

  watch(el: HTMLElement) {
    this.unseen.add(el);
    this.observer.observe(el);
  }

  forget(el: HTMLElement) {
    this.unseen.delete(el);
    this.observer.unobserve(el);
  }

  // Another tab of the same person moved the marker.
  movedTo(messageId: number) {
    this.sent = Math.max(this.sent, messageId);
  }

  flush() {
    clearTimeout(this.timer);
    if (this.newest > this.sent && this.send(this.newest)) this.sent = this.newest;
  }

  close() {
    this.flush();
    this.observer.disconnect();
    document.removeEventListener("visibilitychange", this.recheck);
  }

  private onSeen(entries: IntersectionObserverEntry[]) {
    if (document.visibilityState !== "visible") return;
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      this.forget(e.target as HTMLElement);
      this.newest = Math.max(this.newest, Number((e.target as HTMLElement).dataset.id));
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), 300);
  }

  // What arrived while the page was hidden is looked at again once it is shown.
  private recheck = () => {
    if (document.visibilityState !== "visible") return;
    for (const el of this.unseen) {
      this.observer.unobserve(el);
      this.observer.observe(el);
    }
  };
}
