// A JSON Lines file read a line at a time, with its line number, holding one line in memory (and the
// rest of the chunk it came in). `next()` rather than a loop, so an import can hand the lines after a
// file record to the storage that takes its bytes.
export class Lines {
  number = 0;
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private decoder = new TextDecoder("utf-8", { fatal: true });
  private buffer = "";
  private pos = 0; // where the next line starts in buffer
  private done = false;

  constructor(file: Bun.BunFile) {
    this.reader = file.stream().getReader();
  }

  // The next line without its newline, or null at the end of the file.
  async next(): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf("\n", this.pos);
      if (end >= 0 || (this.done && this.pos < this.buffer.length)) {
        const line = this.buffer.slice(this.pos, end >= 0 ? end : undefined);
        this.pos = end >= 0 ? end + 1 : this.buffer.length;
        this.number++;
        return line;
      }
      if (this.done) return null;
      const { value, done } = await this.reader.read();
      this.buffer =
        this.buffer.slice(this.pos) + (done ? this.decoder.decode() : this.decoder.decode(value, { stream: true }));
      this.pos = 0;
      this.done = done;
    }
  }

  async close() {
    await this.reader.cancel().catch(() => {});
  }
}
