// Captures a server's log lines (pass `sink.write` as startServer's log) and awaits one by content.
import { Changes, waitFor } from "./waiting.ts";

export class LogSink {
  readonly lines: string[] = [];
  private changes = new Changes();
  write = (line: string) => {
    this.lines.push(line);
    this.changes.notify();
  };

  next(match: (line: string) => boolean, from = 0, timeoutMs = 5000): Promise<string> {
    const find = () => this.lines.slice(from).find(match);
    return waitFor(find, timeoutMs, this.changes, () => `no matching log line within ${timeoutMs} ms`);
  }
}
