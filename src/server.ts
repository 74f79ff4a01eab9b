import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type Provider from "oidc-provider";
import type { Registry } from "prom-client";
import { buildApp } from "./app.js";
import type { Config } from "./config.js";
import { listenForInvalidations } from "./db/invalidation-channel.js";
import type { Database } from "./db/open-database.js";
import { createLiveApplication } from "./live-application.js";
import type { Logger } from "./logger.js";
import { startExpirySweeper } from "./oidc/expiry-sweeper.js";
import { type Services, servicesFor } from "./services.js";

export interface RunningServer {
  readonly server: Server;
  /** Where it listens, e.g. http://127.0.0.1:3000 (the issuer may differ behind a proxy). */
  readonly url: string;
  readonly services: Services;
  readonly provider: Provider;
  /** Starts the periodic expiry sweep here, once (`sweep: false` left it to this call); `immediately`: a first sweep now. */
  startSweeping(immediately?: boolean): void;
  /** Stops accepting connections and waits for in-flight requests (up to `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

export interface ServerOptions {
  /** The clock the signing-key schedule follows (tests move it instead of waiting). */
  now?: () => Date;
  /** False in a cluster worker: the primary created and pruned the signing keys before forking. */
  prepareSigningKeys?: boolean;
  /** False in a cluster worker: only the one the primary names sweeps (`startSweeping`). */
  sweep?: boolean;
  /** What `/metrics` serves instead of this process's registry (a cluster worker: the whole server's). */
  metricsSource?: (registry: Registry) => () => Promise<string>;
}

/** Creates the first signing keys, drops retired ones past their grace: once per start, before serving. */
export async function prepareSigningKeys(services: Services, logger: Logger): Promise<void> {
  if (await services.signingKeys.ensureKeys()) logger.info("created signing keys (ES256, RS256)");
  await services.signingKeys.pruneRetired();
}

/** Creates signing keys if needed, builds the app and listens. The database is the caller's. */
export async function startServer(config: Config, database: Database, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  const { keys, services } = servicesFor(database, config, logger, now);
  if (options.metricsSource) services.metrics.serveFrom(options.metricsSource(services.metrics.registry));
  // Other server processes on the same PostgreSQL database evict through this (see payload-cache.ts).
  const listener = database.url
    ? await listenForInvalidations(
        database.url,
        { onMessage: services.invalidations.receive, onAvailability: services.invalidations.setAvailable },
        logger,
        services.invalidationOrigin,
      )
    : null;
  let live: Awaited<ReturnType<typeof createLiveApplication>>;
  const server = createServer();
  try {
    if (options.prepareSigningKeys ?? true) await prepareSigningKeys(services, logger);
    live = await createLiveApplication({
      build: (jwks) => buildApp(config, services, keys, logger, jwks),
      loadKeySet: services.signingKeys.loadKeySet,
      now,
      logger,
    });
    // A rotation at any instance (or by the CLI) publishes the new keys here at once; after the
    // listener was down, one may have gone unheard.
    services.invalidations.subscribe((message) => {
      if ("signingKeys" in message) void live.refresh();
    });
    services.invalidations.onAvailability((available) => {
      if (available) void live.refresh();
    });
    server.on("request", (req, res) => void live.handle(req, res));
    // Slowloris and oversized headers: bounded by Node's own limits plus these.
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    await listener?.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let stopSweeper: (() => void) | null = null;
  const startSweeping = (immediately = false) => {
    stopSweeper ??= startExpirySweeper(
      services,
      logger,
      config.sweepIntervalSeconds,
      { sessionMaxSeconds: config.ttl.keepSignedInSeconds, retention: config.retention },
      immediately,
    );
  };
  if (options.sweep ?? true) startSweeping();

  return {
    server,
    url: `http://${host}:${address.port}`,
    services,
    get provider() {
      return live.provider;
    },
    startSweeping,
    async close(graceMs = 10_000) {
      stopSweeper?.();
      stopSweeper = () => {};
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      // Mails already promised to someone ("check your email") go out before the process ends.
      await services.tasks.drain();
      services.mailer.close();
      await listener?.close();
    },
  };
}
