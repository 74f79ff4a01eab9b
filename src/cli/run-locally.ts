import type { Config } from "../config.js";
import { openDatabase, pgliteDirectory } from "../db/open-database.js";
import { createLogger } from "../logger.js";
import { servicesFor } from "../services.js";
import type { CommandIo } from "./io.js";
import { runCommand } from "./run-command.js";

/** Runs one command on a database this process opens itself (no running server owns it). */
export async function runLocally(argv: string[], io: CommandIo, config: Config): Promise<number> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: config.databaseUrl ? null : pgliteDirectory(config.dataDir),
    migrate: true,
    poolSize: 2,
    // One command and no requests to keep answering: PGlite's thread would only add its start-up (≈ 0.25 s, issue #13).
    pgliteInline: true,
  });
  try {
    if (database.appliedMigrations.length > 0) io.stderr(`Applied migrations: ${database.appliedMigrations.join(", ")}\n`);
    const { services } = servicesFor(database, config, createLogger("warn"));
    try {
      return await runCommand(argv, io, services);
    } finally {
      // Mails a command promised (invitations, recovery links, security notices) go out before the
      // database closes, as at the server's shutdown.
      await services.tasks.drain();
      services.mailer.close();
    }
  } finally {
    await database.close();
  }
}
