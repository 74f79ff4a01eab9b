import cluster, { type Worker } from "node:cluster";
import type { Config } from "../config.js";
import { openDatabase } from "../db/open-database.js";
import type { Logger } from "../logger.js";
import { prepareSigningKeys } from "../server.js";
import { servicesFor } from "../services.js";
import { answerMetricsScrapes } from "./cluster-metrics.js";
import { createRestartPolicy } from "./restart-policy.js";
import { SWEEP_ORDER } from "./worker.js";

/** The workers' own grace for in-flight requests is 10 s (RunningServer.close); then they are killed. */
const STOP_DEADLINE_MS = 15_000;
/** The slot whose worker sweeps; its replacement inherits the order, so one process sweeps at a time. */
const SWEEPER_SLOT = 0;

/** The callback of a send to a worker that may have just ended: its exit event is what counts. */
const ignoreEnded = () => {};

interface Slot {
  worker: Worker;
  startedAt: number;
  listened: boolean;
}

/** Migrations and the first signing keys, once for every worker, before any of them starts. */
async function prepareDatabase(config: Config, logger: Logger): Promise<void> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: null, migrate: true });
  try {
    if (database.appliedMigrations.length > 0) logger.info({ migrations: database.appliedMigrations }, "applied database migrations");
    const { services } = servicesFor(database, config, logger);
    await prepareSigningKeys(services, logger);
    services.mailer.close();
  } finally {
    await database.close();
  }
}

/**
 * The cluster primary of WORKERS server processes: prepares the database, forks the workers (they
 * share the port; node:cluster hands them connections in turn), replaces one that ends, names the
 * one that sweeps, answers /metrics for all, and stops them all on SIGTERM/SIGINT. It serves nothing.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  await prepareDatabase(config, logger);
  const slots = new Map<number, Slot>();
  const restarts = new Set<NodeJS.Timeout>();
  const policy = createRestartPolicy();
  let announced = false;
  let stopping = false;
  let exitCode = 0;
  answerMetricsScrapes(() => [...slots.values()].filter((slot) => slot.listened && slot.worker.isConnected()).map((slot) => slot.worker));

  const fork = (index: number) => {
    const slot: Slot = { worker: cluster.fork(), startedAt: Date.now(), listened: false };
    slots.set(index, slot);
    // A message to a worker that is just ending fails; its exit is what counts (below), not a crash here.
    slot.worker.on("error", (error) => logger.warn({ err: error, workerPid: slot.worker.process.pid }, "could not reach a worker"));
    slot.worker.once("listening", (address) => {
      slot.listened = true;
      policy.listening();
      if (index === SWEEPER_SLOT) slot.worker.send(SWEEP_ORDER, ignoreEnded);
      if (announced || ![...slots.values()].every((other) => other.listened)) return;
      announced = true;
      const host = address.addressType === 6 ? `[${address.address}]` : address.address;
      logger.info(
        { issuer: config.issuer, listening: `http://${host}:${address.port}`, database: "postgres", workers: config.workers },
        "identity provider started",
      );
    });
    slot.worker.once("exit", (code, signal) => {
      slots.delete(index);
      if (stopping) {
        // Killed by our SIGTERM before its handler was set (still starting) is a clean stop too.
        if (code !== 0 && signal !== "SIGTERM") exitCode = 1;
        if (slots.size === 0) finish();
        return;
      }
      const delayMs = policy.exited(index, { listened: slot.listened, uptimeMs: Date.now() - slot.startedAt });
      const ended = { workerPid: slot.worker.process.pid, code, signal };
      if (delayMs === null) {
        logger.fatal(ended, "workers keep ending before they listen; stopping");
        stop("workers failing", 1);
        return;
      }
      logger.warn({ ...ended, restartInMs: delayMs }, "worker ended; starting a replacement");
      const timer = setTimeout(() => {
        restarts.delete(timer);
        fork(index);
      }, delayMs);
      restarts.add(timer);
    });
  };

  const finish = () => {
    logger.info("stopped");
    process.exit(exitCode);
  };
  const stop = (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    logger.info({ reason }, "shutting down");
    for (const timer of restarts) clearTimeout(timer);
    if (slots.size === 0) return finish();
    // Each worker stops accepting, finishes its in-flight requests and closes its database itself.
    for (const { worker } of slots.values()) worker.process.kill("SIGTERM");
    setTimeout(() => {
      logger.error({ workers: [...slots.values()].map((slot) => slot.worker.process.pid) }, "workers still running at the stop deadline; killing them");
      exitCode = 1;
      for (const { worker } of slots.values()) worker.process.kill("SIGKILL");
    }, STOP_DEADLINE_MS).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  for (let index = 0; index < config.workers; index += 1) fork(index);
}
