import type { ChildProcess } from "node:child_process";

/** The JSON line bench/target.ts prints once it serves (its URL, client and tokens). */
export function targetReady<T>(child: ChildProcess, label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      const line = output.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as T);
    });
    child.once("exit", (code) => reject(new Error(`target ${label} exited with ${code} before it was ready`)));
  });
}
