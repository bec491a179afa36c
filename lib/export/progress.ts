// The progress line on stderr: on a terminal one line rewritten in place (a few times a second); in a log
// (systemd, a pipe) a line per record type when it is done, and one every 10 s while a large one goes on.
export type Progress = {
  update(type: string, done: number, total: number): void;
  finished(type: string, n: number): void;
};

export function progressLine(verb: string, tty = process.stderr.isTTY === true): Progress {
  let last = Date.now();
  const every = tty ? 200 : 10_000;
  const write = (text: string) => process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
  return {
    update(type, done, total) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      write(`${verb}: ${type} records ${done}${total ? `/${total}` : ""}`);
    },
    finished(type, n) {
      write(`${verb}: ${n} ${type} record${n === 1 ? "" : "s"}`);
      if (tty) process.stderr.write("\n");
      last = Date.now();
    },
  };
}
