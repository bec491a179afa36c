// Reading a password for the CLI. Never from argv (it would show in `ps` and shell history).
export class PromptError extends Error {} // cancelled, or the two entries differ

// The first line of stdin, or a prompt without echo when stdin is a terminal.
export async function readPassword(confirm: boolean): Promise<string> {
  if (!process.stdin.isTTY) return (await Bun.stdin.text()).split(/\r?\n/)[0]!;
  const first = await promptHidden("Password: ");
  if (confirm && (await promptHidden("Repeat password: ")) !== first)
    throw new PromptError("the passwords do not match");
  return first;
}

function promptHidden(label: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // before the prompt shows: nothing typed after it is echoed
  stdin.resume();
  process.stderr.write(label);
  return new Promise((resolve, reject) => {
    const chars: string[] = [];
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0003" || ch === "\u0004") {
          done();
          return ch === "\r" || ch === "\n" ? resolve(chars.join("")) : reject(new PromptError("cancelled"));
        }
        if (ch === "\u007f" || ch === "\b") chars.pop();
        else chars.push(ch);
      }
    };
    stdin.on("data", onData);
  });
}
