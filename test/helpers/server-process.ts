import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
// The server itself, not a tsx wrapper process, so a signal reaches the process holding the locks.
const NODE = join(ROOT, "node_modules/.bin/node");

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `nodeArgs`: what follows `node`; the default runs the sources, `["dist/main.js"]` the build. */
export function spawnServer(env: Record<string, string>, nodeArgs: string[] = ["--import", "tsx", "src/main.ts"]): ServerProcess {
  const child = spawn(NODE, nodeArgs, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info", ...env } });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited, output: () => output };
}

/** Resolves when the process's output says it serves; fails if it exits first, or at the deadline. */
export function waitUntilStarted(server: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const started = () => server.output().includes("identity provider started");
  if (started()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onOutput = () => {
      if (!started()) return;
      done();
      resolve();
    };
    const deadline = setTimeout(() => {
      done();
      reject(new Error(`server did not start: ${server.output()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(deadline);
      server.child.stdout?.off("data", onOutput);
      server.child.stderr?.off("data", onOutput);
    };
    // Listeners added after spawnServer's own, so the output already holds this chunk.
    server.child.stdout?.on("data", onOutput);
    server.child.stderr?.on("data", onOutput);
    void server.exited.then((code) => {
      done();
      if (!started()) reject(new Error(`server exited (${code}) before it started: ${server.output()}`));
    });
  });
}

export async function stopServer(server: ServerProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill(signal);
  await server.exited;
}
