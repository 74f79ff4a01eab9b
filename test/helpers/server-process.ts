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

export function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(NODE, ["--import", "tsx", "src/main.ts"], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info", ...env } });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited, output: () => output };
}

/** Polls the process's output until it says it serves; fails if it exits first. */
export async function waitUntilStarted(server: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  while (!server.output().includes("identity provider started")) {
    if (exitCode !== undefined) throw new Error(`server exited (${exitCode}) before it started: ${server.output()}`);
    if (Date.now() > deadline) throw new Error(`server did not start: ${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function stopServer(server: ServerProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill(signal);
  await server.exited;
}
