/** Reads piped stdin whole; on a terminal, prompts and reads one line without echoing it. */
export async function readSecretInput(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let line = "";
    const onData = (text: string) => {
      for (const char of text) {
        if (char === "\r" || char === "\n") {
          finish();
          return resolve(line);
        }
        if (char === "\u0003") {
          finish();
          return reject(new Error("cancelled"));
        }
        line = char === "\u007f" ? line.slice(0, -1) : line + char;
      }
    };
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}
