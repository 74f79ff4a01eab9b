import type { Config } from "../config.js";
import { openDatabase } from "../db/open-database.js";
import type { Logger } from "../logger.js";
import { type RunningServer, startServer } from "../server.js";
import { stopOnSignals } from "../stop-signals.js";
import { clusterMetricsSource } from "./cluster-metrics.js";

/** The primary's order to the one worker that runs the expiry sweep. */
export const SWEEP_ORDER = { type: "idp:sweep" } as const;

const isSweepOrder = (message: unknown) => typeof message === "object" && message !== null && (message as { type?: unknown }).type === SWEEP_ORDER.type;

/**
 * One of WORKERS server processes on PostgreSQL: serves on the port the cluster primary shares,
 * on a database the primary migrated and whose signing keys it created. Sweeps only when told.
 */
export async function runWorker(config: Config, logger: Logger): Promise<void> {
  let running: RunningServer | null = null;
  let sweeps = false;
  process.on("message", (message: unknown) => {
    if (!isSweepOrder(message) || sweeps) return;
    sweeps = true;
    logger.info("this worker sweeps expired data");
    running?.startSweeping(true);
  });

  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: null, migrate: false });
  running = await startServer(config, database, logger, { prepareSigningKeys: false, sweep: false, metricsSource: clusterMetricsSource });
  // At once, then every interval: a sweeper replaced more often than the interval still sweeps.
  if (sweeps) running.startSweeping(true);
  logger.info({ listening: running.url }, "worker started");

  const server = running;
  stopOnSignals(async (signal) => {
    logger.info({ signal }, "worker shutting down");
    await server.close();
    await database.close();
  });
}
