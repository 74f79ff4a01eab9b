import { join } from "node:path";
import { ConfigError, loadConfig } from "../config.js";
import { DataDirLockedError, lockDataDir } from "../db/data-dir-lock.js";
import { openDatabase, pgliteDirectory } from "../db/open-database.js";
import { createLogger } from "../logger.js";
import { servicesFor } from "../server.js";
import { usersCommandReadsStdin } from "./commands/users.js";
import { createMigration } from "./create-migration.js";
import { type CommandIo, UsageError } from "./io.js";
import { forwardToServer } from "./operator-socket.js";
import { readSecretInput } from "./read-secret-input.js";
import { runCommand, USAGE } from "./run-command.js";

const output = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text) };

/** The operator CLI: runs locally, or inside the server when it holds the embedded database. */
async function main(argv: string[]): Promise<number> {
  const [group, sub] = argv;
  if (!group || group === "help" || group === "--help") {
    output.stdout(`${USAGE}\n`);
    return 0;
  }
  if (group === "db" && sub === "create-migration") return createMigration(argv[2], output);

  const config = loadConfig();
  const stdin = group === "users" && usersCommandReadsStdin(argv.slice(1)) ? await readSecretInput("Password: ") : null;
  const io: CommandIo = { ...output, stdin };

  let releaseLock = async () => {};
  if (!config.databaseUrl) {
    try {
      releaseLock = await lockDataDir(config.dataDir, () => {
        output.stderr("Lost the DATA_DIR lock; stopping.\n");
        process.exit(1);
      });
    } catch (error) {
      if (!(error instanceof DataDirLockedError)) throw error;
      return forwardToServer(join(config.dataDir, "operator.sock"), { argv, stdin }, io);
    }
  }
  try {
    const database = await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: config.databaseUrl ? null : pgliteDirectory(config.dataDir),
      migrate: true,
      poolSize: 2,
    });
    try {
      if (database.appliedMigrations.length > 0) output.stderr(`Applied migrations: ${database.appliedMigrations.join(", ")}\n`);
      return await runCommand(argv, io, servicesFor(database, config, createLogger("warn")).services);
    } finally {
      await database.close();
    }
  } finally {
    await releaseLock();
  }
}

// Exit explicitly once output is flushed: the WebAssembly schema engine leaves timers behind.
const exit = (code: number) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));

main(process.argv.slice(2)).then(exit, (error: Error) => {
  if (error instanceof ConfigError) output.stderr(`Configuration error: ${error.message}\n`);
  else output.stderr(`Error: ${error.message}\n`);
  exit(error instanceof UsageError ? 2 : 1);
});
