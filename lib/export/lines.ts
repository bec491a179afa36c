// A JSON Lines file read a line at a time, with its line number, holding one line in memory (and the
// rest of the chunk it came in). `next()` rather than a loop, so an import can hand the lines after a
// file record to the storage that takes its bytes. Lines are cut as bytes and decoded one by one, so a
// byte that is not UTF-8 is reported on its own line.
export class Lines {
  number = 0;
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private decoder = new TextDecoder("utf-8", { fatal: true });
  private buffer: Buffer = Buffer.alloc(0);
  private pos = 0; // where the next line starts in buffer
  private done = false;

  constructor(file: Bun.BunFile) {
    this.reader = file.stream().getReader();
  }

  // The next line without its newline, or null at the end of the file.
  async next(): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf(10, this.pos);
      if (end >= 0 || (this.done && this.pos < this.buffer.length)) {
        const line = this.buffer.subarray(this.pos, end >= 0 ? end : undefined);
        this.pos = end >= 0 ? end + 1 : this.buffer.length;
        this.number++;
        return this.decode(line);
      }
      if (this.done) return null;
      const { value, done } = await this.reader.read();
      this.buffer = Buffer.concat([this.buffer.subarray(this.pos), ...(value ? [value] : [])]);
      this.pos = 0;
      this.done = done;
    }
  }

  private decode(bytes: Uint8Array): string {
    try {
      return this.decoder.decode(bytes);
    } catch {
      throw new Error(`line ${this.number}: not UTF-8`);
    }
  }

  async close() {
    await this.reader.cancel().catch(() => {});
  }
}
