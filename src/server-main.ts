import cluster from "node:cluster";
import { join } from "node:path";
import { serveOperatorSocket } from "./cli/operator-socket.js";
import { runCommand } from "./cli/run-command.js";
import { runPrimary } from "./cluster/primary.js";
import { runWorker } from "./cluster/worker.js";
import { ConfigError, loadConfig } from "./config.js";
import { lockDataDir } from "./db/data-dir-lock.js";
import { DataDirPermissionError, secureDataDir } from "./db/data-dir-permissions.js";
import { openDatabase, pgliteDirectory } from "./db/open-database.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { stopOnSignals } from "./stop-signals.js";

// load config → open db → build provider → listen; graceful shutdown on SIGTERM/SIGINT.
// With WORKERS > 1: a cluster primary (src/cluster/primary.ts) and its workers instead.
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (cluster.isWorker) return runWorker(config, logger);
  if (/^[\d.]+$|^\[/.test(config.webauthn.rpId)) {
    logger.warn(
      { rpId: config.webauthn.rpId },
      "passkeys need a domain name as RP ID (browsers refuse IP addresses): use http://localhost or set ISSUER/WEBAUTHN_RP_ID",
    );
  }
  if (config.secureCookies && !config.trustProxy) {
    logger.warn({ issuer: config.issuer }, "https ISSUER without TRUST_PROXY: plain-HTTP requests are refused with 421 (set TRUST_PROXY behind a TLS proxy)");
  }
  if (config.workers > 1) return runPrimary(config, logger);
  const embedded = config.databaseUrl === null;
  if (embedded) {
    try {
      secureDataDir(config.dataDir);
    } catch (error) {
      if (error instanceof DataDirPermissionError) {
        console.error(`Configuration error: ${error.message}`);
        process.exit(78);
      }
      throw error;
    }
  }

  const releaseLock = embedded
    ? await lockDataDir(config.dataDir, (error) => {
        logger.fatal({ err: error }, "lost the DATA_DIR lock; stopping to protect the database");
        process.exit(1);
      })
    : async () => {};
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: embedded ? pgliteDirectory(config.dataDir) : null,
    migrate: true,
    onPgliteThreadExit: (error) => {
      logger.fatal({ err: error }, "the embedded database's thread ended; stopping");
      process.exit(1);
    },
  });
  if (database.appliedMigrations.length > 0) logger.info({ migrations: database.appliedMigrations }, "applied database migrations");

  const running = await startServer(config, database, logger);
  // With the embedded database this process owns it, so the operator CLI runs its commands here.
  const operatorSocket = embedded
    ? await serveOperatorSocket(join(config.dataDir, "operator.sock"), (argv, io) => runCommand(argv, io, running.services), logger)
    : null;
  logger.info({ issuer: config.issuer, listening: running.url, database: database.kind }, "identity provider started");

  stopOnSignals(async (signal) => {
    logger.info({ signal }, "shutting down");
    await running.close();
    await operatorSocket?.close();
    await database.close();
    await releaseLock();
    logger.info("stopped");
  });
}

main().catch((error: Error) => {
  console.error(`Failed to start: ${error.message}`);
  process.exit(1);
});
