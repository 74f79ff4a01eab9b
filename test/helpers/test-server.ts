import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig, loadDefaults } from "../../src/config.js";
import type { Database } from "../../src/db/open-database.js";
import { createLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { type DatabaseKind, openTestDatabase } from "./test-database.js";

export interface TestServer extends RunningServer {
  readonly issuer: string;
  readonly config: Config;
  readonly database: Database;
  stop(): Promise<void>;
}

import { freePort } from "./free-port.js";

export { freePort };

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** The real app on a real, freshly migrated database, listening on 127.0.0.1. */
export interface TestServerOptions {
  /** Extra environment (e.g. an https ISSUER with TRUST_PROXY). */
  env?: Record<string, string>;
  /** Receives the server's log lines (JSON) instead of discarding them. */
  logLines?: string[];
  /** "localhost" for browser tests (WebAuthn refuses IP addresses as RP IDs); default 127.0.0.1. */
  issuerHost?: string;
  /** Another server's database (and its secret), to run a second instance on it; not closed on stop. */
  shareWith?: TestServer;
  /**
   * Production's run-time behaviour (cached views, oidc-provider's guard against requests to private
   * and loopback addresses) on this loopback http server; start-up checks stay development's.
   */
  productionRuntime?: boolean;
  /** The clock the signing-key schedule follows (move it instead of waiting). */
  now?: () => Date;
}

export async function startTestServer(
  kind: DatabaseKind,
  overrides: DeepPartial<ReturnType<typeof loadDefaults>> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "idp-test-"));
  const defaults = loadDefaults();
  const loaded = loadConfig(
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      ISSUER: `http://${options.issuerHost ?? "127.0.0.1"}:${port}`,
      DATA_DIR: dataDir,
      SECRET_KEY: options.shareWith?.config.secretKey?.toString("base64url") ?? randomBytes(32).toString("base64url"),
      LOG_LEVEL: options.logLines ? "info" : (process.env.TEST_LOG_LEVEL ?? "silent"),
      ...options.env,
    },
    {
      ...defaults,
      ...overrides,
      ttl: { ...defaults.ttl, ...overrides.ttl },
      caches: { ...defaults.caches, ...overrides.caches },
      signUp: { ...defaults.signUp, ...overrides.signUp },
      throttle: { ...defaults.throttle, ...overrides.throttle },
      account: { ...defaults.account, ...overrides.account },
      recovery: { ...defaults.recovery, ...overrides.recovery },
      risk: { ...defaults.risk, ...overrides.risk },
      policy: { ...defaults.policy, ...overrides.policy },
      retention: { ...defaults.retention, ...overrides.retention },
      keys: { ...defaults.keys, ...overrides.keys },
      // Bursts in functional tests wait for a slot instead of meeting a 250 ms limit on a loaded CI
      // machine; load-shedding.test.ts sets its own limits.
      load: { ...defaults.load, maxQueueWaitMs: 10_000, ...overrides.load },
    } as ReturnType<typeof loadDefaults>,
  );
  const config = options.productionRuntime ? { ...loaded, production: true } : loaded;
  const database = options.shareWith?.database ?? (await openTestDatabase(kind));
  const destination = options.logLines ? { write: (line: string) => void options.logLines?.push(line) } : undefined;
  const running = await startServer(config, database, createLogger(config.logLevel, destination), { now: options.now });
  // Assigned onto the running server, so its live `provider` getter stays live.
  return Object.assign(running, {
    issuer: config.issuer,
    config,
    database,
    async stop() {
      await running.close(1000);
      if (!options.shareWith) await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
