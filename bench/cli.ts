// npm run bench:cli: how long one operator command takes as a whole process (issue #12), from
// start to exit, as an operator types it (`npm run idp -- …`) and as the CLI process alone (what
// that npm script runs). Three commands, taken in turn round after round so that a machine whose
// speed drifts moves them alike: `--help`, `clients list` forwarded to a running server (PGlite,
// over DATA_DIR/operator.sock), and `clients list` opening a migrated PGlite DATA_DIR itself with
// no server running; on PostgreSQL too when DATABASE_URL (used as it is) or TEST_POSTGRES_URL (a
// fresh database, dropped afterwards) is set. Prints medians, the spread and the targets.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/helpers/free-port.js";
import { spawnServer, stopServer, waitUntilStarted } from "../test/helpers/server-process.js";
import { createPostgresDatabase } from "../test/helpers/test-database.js";
import { percentile } from "./open-loop.js";

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 5);
const ROOT = join(import.meta.dirname, "..");
// The figures issue #12 asks for, in seconds.
const TARGETS = { help: 0.5, forwarded: 1.5, direct: 3 } as const;

interface Measurement {
  label: string;
  argv: string[];
  env: Record<string, string>;
  target: number | null;
  /** Checks one run's output: a benchmark of a command that failed measures nothing. */
  expect: (stdout: string) => boolean;
}

interface Run {
  seconds: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function timeProcess(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ seconds: (performance.now() - started) / 1000, code, stdout, stderr }));
  });
}

// As typed, and the process that npm script starts (`node --import tsx src/cli/main.ts`).
const WAYS = {
  npm: (argv: string[], env: Record<string, string>) => timeProcess("npm", ["run", "-s", "idp", "--", ...argv], env),
  process: (argv: string[], env: Record<string, string>) => timeProcess(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...argv], env),
} as const;
type Way = keyof typeof WAYS;

async function cli(argv: string[], env: Record<string, string>): Promise<void> {
  const run = await WAYS.process(argv, env);
  if (run.code !== 0) throw new Error(`idp ${argv.join(" ")} exited with ${run.code}: ${run.stderr}`);
}

const seconds = (value: number) => `${value.toFixed(2)} s`;
const cleanups: (() => Promise<void>)[] = [];

try {
  const pgliteEnv = (dataDir: string) => ({ DATA_DIR: dataDir, DATABASE_URL: "" });
  const newDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "idp-bench-cli-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const createClient = ["clients", "create", "--name", "Bench app", "--redirect-uri", "https://app.example.com/cb"];
  const listsIt = (stdout: string) => stdout.includes("Bench app");

  // One client in each database, so that `clients list` has a row to print; the first command migrates.
  const directDir = newDataDir();
  await cli(createClient, pgliteEnv(directDir));
  const servedDir = newDataDir();
  await cli(createClient, pgliteEnv(servedDir));
  const port = await freePort();
  const server = spawnServer({ ...pgliteEnv(servedDir), PORT: String(port), HOST: "127.0.0.1", ISSUER: `http://127.0.0.1:${port}` });
  cleanups.unshift(() => stopServer(server));
  await waitUntilStarted(server);

  const measurements: Measurement[] = [
    { label: "--help", argv: ["--help"], env: {}, target: TARGETS.help, expect: (stdout) => stdout.startsWith("Usage:") },
    { label: "clients list, through the server", argv: ["clients", "list"], env: pgliteEnv(servedDir), target: TARGETS.forwarded, expect: listsIt },
    { label: "clients list, direct (PGlite)", argv: ["clients", "list"], env: pgliteEnv(directDir), target: TARGETS.direct, expect: listsIt },
  ];

  const givenUrl = process.env.DATABASE_URL;
  let postgresUrl: string | null = givenUrl || null;
  if (!postgresUrl && process.env.TEST_POSTGRES_URL) {
    const database = await createPostgresDatabase();
    cleanups.push(database.drop);
    postgresUrl = database.url;
  }
  if (postgresUrl) {
    const env = { DATABASE_URL: postgresUrl, DATA_DIR: newDataDir() };
    await cli(createClient, env);
    measurements.push({ label: "clients list, direct (PostgreSQL)", argv: ["clients", "list"], env, target: TARGETS.direct, expect: listsIt });
  } else {
    console.log("(no DATABASE_URL / TEST_POSTGRES_URL: PostgreSQL skipped)");
  }

  const loadBefore = loadavg()[0] as number;
  const results = new Map<string, Map<Way, number[]>>(measurements.map((m) => [m.label, new Map()]));
  const floor: number[] = [];
  // Round 0 warms up (tsx's transform cache, the page cache) and is not counted.
  for (let round = 0; round <= RUNS; round += 1) {
    const start = await timeProcess(process.execPath, ["-e", ""], {});
    if (round > 0) floor.push(start.seconds);
    for (const measurement of measurements) {
      for (const way of Object.keys(WAYS) as Way[]) {
        const run = await WAYS[way](measurement.argv, measurement.env);
        if (run.code !== 0 || !measurement.expect(run.stdout)) {
          throw new Error(`${measurement.label} (${way}) failed with exit ${run.code}:\n${run.stdout}${run.stderr}`);
        }
        if (round === 0) continue;
        const byWay = results.get(measurement.label) as Map<Way, number[]>;
        byWay.set(way, [...(byWay.get(way) ?? []), run.seconds]);
      }
    }
  }

  const summary = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { median: percentile(sorted, 50), text: `${seconds(percentile(sorted, 50))} (${seconds(sorted[0] as number)}–${seconds(sorted.at(-1) as number)})` };
  };
  const pad = (value: string, width: number) => value.padEnd(width);
  console.log(
    `\nOperator CLI, whole process, median of ${RUNS} runs (min–max); Node ${process.version}; load average ${loadBefore.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)}\n`,
  );
  console.log(`${pad("command", 36)}${pad("npm run idp -- …", 26)}${pad("CLI process alone", 26)}target`);
  for (const measurement of measurements) {
    const byWay = results.get(measurement.label) as Map<Way, number[]>;
    const typed = summary(byWay.get("npm") as number[]);
    const verdict = measurement.target === null ? "" : `${seconds(measurement.target)} ${typed.median <= measurement.target ? "met" : "MISSED"}`;
    console.log(pad(measurement.label, 36) + pad(typed.text, 26) + pad(summary(byWay.get("process") as number[]).text, 26) + verdict);
  }
  console.log(`${pad("node -e '' (any Node process)", 36)}${pad("", 26)}${summary(floor).text}`);
  console.log("\nTargets (issue #12) apply to the command as typed; the CLI process alone leaves npm's own start-up out.");
} finally {
  for (const cleanup of cleanups) await cleanup();
}
