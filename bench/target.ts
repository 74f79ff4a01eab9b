// One benchmark target in its own process: bare oidc-provider (memory adapter) or this IdP on
// PGlite / PostgreSQL. Prints one JSON line with its URL, a client and pre-minted tokens.
// An optional fourth argument, JSON, replaces settings of `load` (bench/overload.ts).
// With BENCH_ENTRY_WORKERS=<n> (bench/run.ts's BENCH_WORKERS) the PostgreSQL target is the real
// entry, `src/main.ts` with WORKERS=<n>, started after this process set up and minted.
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import Provider from "oidc-provider";
import { loadConfig, loadDefaults } from "../src/config.js";
import { openDatabase, pgliteDirectory } from "../src/db/open-database.js";
import { createLogger } from "../src/logger.js";
import { startServer } from "../src/server.js";
import { openTestDatabase } from "../test/helpers/test-database.js";

const [kind, portArg, chainsArg, loadArg] = process.argv.slice(2);
const entryWorkers = process.env.BENCH_ENTRY_WORKERS;
const port = Number(portArg);
const chains = Number(chainsArg);
const issuer = `http://127.0.0.1:${port}`;
const SCOPE = "openid email offline_access";
const metricsToken = randomBytes(32).toString("base64url");
/** The resource server the `client_credentials_jwt` scenario asks a JWT access token for. */
const RESOURCE = "https://api.bench.example";

async function mint(provider: Provider, clientId: string, accountId: string) {
  const client = await provider.Client.find(clientId);
  if (!client) throw new Error("bench client missing");
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  const accessToken = await new provider.AccessToken({ accountId, client, grantId, scope: "openid email", gty: "authorization_code" }).save();
  const refreshTokens: string[] = [];
  for (let i = 0; i < chains; i += 1) {
    const chainGrant = new provider.Grant({ accountId, clientId });
    chainGrant.addOIDCScope(SCOPE);
    const chainGrantId = await chainGrant.save();
    refreshTokens.push(await new provider.RefreshToken({ accountId, client, grantId: chainGrantId, scope: SCOPE, gty: "authorization_code" }).save());
  }
  return { accessToken, refreshTokens };
}

async function bare() {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const clientSecret = randomBytes(32).toString("base64url");
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "bench-jwt",
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
        id_token_signed_response_alg: "ES256",
      },
      {
        client_id: "bench",
        client_secret: clientSecret,
        grant_types: ["authorization_code", "refresh_token", "client_credentials"],
        redirect_uris: ["http://localhost:8080/cb"],
        response_types: ["code"],
        id_token_signed_response_alg: "ES256",
      },
    ],
    jwks: { keys: [{ ...jwk, alg: "ES256", use: "sig", kid: "bench" }] as never },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: "bench@example.com", email_verified: true }) }),
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async (_ctx, indicator, client) => ({
          scope: "",
          audience: indicator,
          accessTokenFormat: client.clientId === "bench-jwt" ? "jwt" : "opaque",
          jwt: { sign: { alg: "ES256" } },
        }),
      },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    },
  });
  const server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    clientId: "bench",
    clientSecret,
    jwtClientId: "bench-jwt",
    jwtClientSecret: clientSecret,
    resource: RESOURCE,
    ...(await mint(provider, "bench", "bench-user")),
  };
}

async function ours(embedded: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), "idp-bench-"));
  const defaults = loadDefaults();
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    ISSUER: issuer,
    DATA_DIR: dataDir,
    SECRET_KEY: randomBytes(32).toString("base64url"),
    LOG_LEVEL: "silent",
    METRICS_TOKEN: metricsToken,
    RESOURCE_SERVERS: RESOURCE,
  };
  const config = loadConfig(env, { ...defaults, load: { ...defaults.load, ...(loadArg ? JSON.parse(loadArg) : {}) } });
  // A fresh PostgreSQL database per run, created from TEST_POSTGRES_URL and dropped on SIGTERM.
  const database = embedded
    ? await openDatabase({ databaseUrl: null, pgliteDir: pgliteDirectory(dataDir), migrate: true })
    : await openTestDatabase("postgres");
  const running = await startServer(config, database, createLogger("silent"));
  if (!entryWorkers) {
    process.once("SIGTERM", async () => {
      await running.close(1000);
      await database.close();
      process.exit(0);
    });
  }
  const client = await running.services.clients.create({ name: "bench", redirectUris: ["http://localhost:8080/cb"], clientCredentials: true });
  const user = await running.services.users.create({ email: "bench@example.com" });
  const jwtClient = await running.services.clients.create({ name: "bench-jwt", redirectUris: [], clientCredentials: true, accessTokenFormat: "jwt" });
  const tokens = await mint(running.provider, client.client_id, user.id);
  if (entryWorkers) {
    await running.close(1000);
    await serveThroughEntry({ ...env, DATABASE_URL: database.url as string, WORKERS: entryWorkers }, dataDir, () => database.close());
  }
  return {
    clientId: client.client_id,
    clientSecret: client.client_secret as string,
    jwtClientId: jwtClient.client_id,
    jwtClientSecret: jwtClient.client_secret as string,
    resource: RESOURCE,
    metricsToken,
    ...tokens,
  };
}

/**
 * `src/main.ts` on the same database, port and secret, until SIGTERM. It logs as in production (a
 * line per request), to a file: the start line is read from there, at no cost to the processes measured.
 */
async function serveThroughEntry(env: Record<string, string>, dataDir: string, closeDatabase: () => Promise<void>) {
  const logFile = join(dataDir, "entry.log");
  const log = openSync(logFile, "w");
  const root = join(import.meta.dirname, "..");
  const entry = spawn(join(root, "node_modules/.bin/node"), ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { ...process.env, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", log, log],
  });
  const exited = new Promise((resolve) => entry.once("exit", resolve));
  process.once("SIGTERM", async () => {
    entry.kill("SIGTERM");
    await exited;
    await closeDatabase();
    process.exit(0);
  });
  // Polling a file in a benchmark's set-up, not in a test.
  while (!readFileSync(logFile, "utf8").includes("identity provider started")) {
    if (entry.exitCode !== null) throw new Error(`the entry exited (${entry.exitCode}): ${readFileSync(logFile, "utf8")}`);
    await delay(100);
  }
}

const target = kind === "bare" ? await bare() : await ours(kind === "pglite");
process.stdout.write(`${JSON.stringify(target)}\n`);
