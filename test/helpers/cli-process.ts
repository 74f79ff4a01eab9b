import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const NODE = join(ROOT, "node_modules/.bin/node");
const DEPENDENCIES = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: object }).dependencies);

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface EntryOptions {
  stdin?: string;
  /** Modules loaded with `--import` after tsx. */
  preload?: string[];
  /** The Node.js binary; node_modules/.bin/node (Node 24) unless told. */
  node?: string;
}

/** Runs an entry point (`src/cli/main.ts`, `src/main.ts`) as `npm run idp` does: one Node process with tsx. */
export function runEntry(
  entry: string,
  args: string[],
  env: Record<string, string>,
  { stdin, preload = [], node = NODE }: EntryOptions = {},
): Promise<ProcessResult> {
  return new Promise((done) => {
    const imports = ["tsx", ...preload].flatMap((module) => ["--import", module]);
    const child = spawn(node, [...imports, entry, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "silent", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/**
 * Runs the CLI with arguments written in sh syntax, for bytes a string argument cannot carry
 * (`"$(printf '\\303\\050')"` is not UTF-8; spawn's string arguments always are).
 */
export function runCliThroughShell(shellArgs: string, env: Record<string, string>): Promise<ProcessResult> {
  return new Promise((done) => {
    const child = spawn("/bin/sh", ["-c", `exec "$0" --import tsx src/cli/main.ts ${shellArgs}`, NODE], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "silent", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end();
  });
}

/** The operator CLI bound to one environment (DATA_DIR, DATABASE_URL). */
export const operatorCli =
  (env: Record<string, string>) =>
  (args: string[], stdin?: string): Promise<ProcessResult> =>
    runEntry("src/cli/main.ts", args, env, { stdin });

/** Runs an entry point and says which of the application's own modules and dependencies it loaded. */
export async function runRecordingModules(
  entry: string,
  args: string[],
  env: Record<string, string>,
  preload: string[] = [],
): Promise<ProcessResult & { sources: string[]; dependencies: string[] }> {
  const directory = mkdtempSync(join(tmpdir(), "idp-modules-"));
  const file = join(directory, "modules.txt");
  try {
    const result = await runEntry(entry, args, { ...env, RECORD_MODULES_TO: file }, { preload: [...preload, "./test/helpers/record-modules.ts"] });
    const urls = readFileSync(file, "utf8").split("\n");
    const sourceRoot = `file://${ROOT}/src/`;
    const sources = [...new Set(urls.filter((url) => url.startsWith(sourceRoot)).map((url) => url.slice(sourceRoot.length)))];
    const dependencies = DEPENDENCIES.filter((name) => urls.some((url) => url.includes(`/node_modules/${name}/`)));
    return { ...result, sources, dependencies };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Runs the CLI and says which of the application's own modules and dependencies it loaded. */
export const runCliRecordingModules = (args: string[], env: Record<string, string>) => runRecordingModules("src/cli/main.ts", args, env);
