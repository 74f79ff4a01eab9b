// The targets of a benchmark run: bare oidc-provider and this IdP on each database, each also from
// BENCH_BASELINE_TREE's checkout when that is set (before/after in one run), each started in a
// process of its own.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { targetReady } from "./target-process.js";

/** A target: its kind (`bare`, `pglite`, `postgres`), the checkout it runs from, and WORKERS for the real entry. */
export interface TargetSpec {
  name: string;
  kind: string;
  tree: string;
  workers?: number;
}

export const HERE = join(import.meta.dirname, "..");

/**
 * `bare` first, then each of our kinds from this checkout and, when given, from `baselineTree`
 * (`postgres@base`, …); with `workers`, PostgreSQL as the real entry with each WORKERS (`postgres-w2`, …).
 */
export function targetSpecs(kinds: string[], baselineTree: string | undefined, workers?: number[]): TargetSpec[] {
  const all = kinds.includes("bare") ? kinds : ["bare", ...kinds];
  return all.flatMap((kind) => [
    ...(kind === "postgres" && workers ? workers.map((n) => ({ name: `${kind}-w${n}`, kind, tree: HERE, workers: n })) : [{ name: kind, kind, tree: HERE }]),
    ...(baselineTree && kind !== "bare" ? [{ name: `${kind}@base`, kind, tree: baselineTree }] : []),
  ]);
}

/**
 * Runs `script` (a path) with `args` under tsx in `cwd`, and waits for the JSON line it prints once
 * it serves. `env` is added to this process's environment.
 */
export async function startTarget<T>(
  label: string,
  { script, args, cwd, env, cpus }: { script: string; args: string[]; cwd: string; env: Record<string, string>; cpus?: string },
): Promise<{ child: ChildProcess; target: T }> {
  const tsx = join(cwd, "node_modules/.bin/tsx");
  // `cpus`: under `taskset -c`, to keep the target off the load generator's core.
  const [command, commandArgs] = cpus ? ["taskset", ["-c", cpus, tsx, script, ...args]] : [tsx, [script, ...args]];
  const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env }, cwd });
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  return { child, target: await targetReady<T>(child, label) };
}

export function stopTarget(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
