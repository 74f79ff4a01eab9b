import { join } from "node:path";
import type { Config } from "../config.js";
import type { ReleaseLock } from "../db/data-dir-lock.js";
import { assertArgvText } from "./args.js";
import { usersCommandReadsStdin } from "./commands/users.js";
import { type CommandIo, UsageError } from "./io.js";
import { USAGE } from "./run-command.js";

const output = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text) };

class CliConfigError extends Error {}

const IN_USE_WAIT_MS = 15_000;
const IN_USE_RETRY_MS = 100;

async function loadCliConfig(): Promise<Config> {
  const { ConfigError, loadConfig } = await import("../config.js");
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliConfigError(`Configuration error: ${error.message}`);
    throw error;
  }
}

/**
 * The operator CLI: runs locally, or inside the server when it holds the embedded database.
 * Each path imports only what it runs, because every command is a new process (issue #12):
 * `--help` loads none of the application; a command forwarded to the server loads the
 * configuration, the lock and a socket client; only a command run here opens the database.
 */
async function main(argv: string[]): Promise<number> {
  const [group, sub] = argv;
  if (!group || group === "help" || group === "--help") {
    output.stdout(`${USAGE}\n`);
    return 0;
  }
  assertArgvText(argv);
  if (group === "db" && sub === "create-migration") return (await import("./create-migration.js")).createMigration(argv[2], output);

  const config = await loadCliConfig();
  // Before a password is asked for, let alone sent to the socket: another user's DATA_DIR may hold their listener.
  if (!config.databaseUrl) (await import("../db/data-dir-permissions.js")).secureDataDir(config.dataDir);
  const readsStdin = group === "users" && usersCommandReadsStdin(argv.slice(1));
  const stdin = readsStdin ? await (await import("./read-secret-input.js")).readSecretInput("Password: ") : null;
  const io: CommandIo = { ...output, stdin };

  if (config.databaseUrl) return (await import("./run-locally.js")).runLocally(argv, io, config);

  const { DataDirLockedError, dataDirHeld, lockDataDir } = await import("../db/data-dir-lock.js");
  const { ServerUnreachableError, forwardToServer } = await import("./operator-socket.js");
  let runLocally: typeof import("./run-locally.js").runLocally | undefined;
  // The lock held but nobody listening: another CLI command runs, or a server is starting (it
  // locks seconds before its socket listens) or stopping. Either may soon be done: try again.
  const deadline = Date.now() + IN_USE_WAIT_MS;
  for (;;) {
    if (await dataDirHeld(config.dataDir)) {
      try {
        return await forwardToServer(join(config.dataDir, "operator.sock"), { argv, stdin }, io);
      } catch (error) {
        if (!(error instanceof ServerUnreachableError)) throw error;
      }
    } else {
      // Loaded before the lock is taken: loading blocks the event loop, and on a busy machine long
      // enough that the lock, refreshed from a timer, could go stale and be lost.
      runLocally ??= (await import("./run-locally.js")).runLocally;
      let releaseLock: ReleaseLock | null = null;
      try {
        releaseLock = await lockDataDir(config.dataDir, () => {
          output.stderr("Lost the DATA_DIR lock; stopping.\n");
          process.exit(1);
        });
      } catch (error) {
        if (!(error instanceof DataDirLockedError)) throw error;
      }
      if (releaseLock) {
        try {
          return await runLocally(argv, io, config);
        } finally {
          await releaseLock();
        }
      }
    }
    if (Date.now() >= deadline) {
      throw new Error(`DATA_DIR ${config.dataDir} is in use by another process (a CLI command, or a server starting or stopping); try again`);
    }
    await new Promise((resolve) => setTimeout(resolve, IN_USE_RETRY_MS));
  }
}

// End once nothing is left to do rather than at once: a forced exit also cuts off writes still in
// flight, such as tsx's transform cache, which it writes asynchronously (a run cut short leaves
// empty cache files, and every later run transforms those modules again). The grace period is
// for the WebAssembly schema engine, which leaves a 10 s timer behind after migrating.
const EXIT_GRACE_MS = 250;
const exit = (code: number) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
};

main(process.argv.slice(2)).then(exit, (error: Error) => {
  output.stderr(error instanceof CliConfigError ? `${error.message}\n` : `Error: ${error.message}\n`);
  // The server's exit code for a bad setting (78, EX_CONFIG) for the same mistake here.
  exit(error instanceof UsageError ? 2 : error instanceof CliConfigError ? 78 : 1);
});
