// One target of bench/flows.ts in its own process: bare oidc-provider (its devInteractions and
// memory adapter: the ceiling) or this IdP on PGlite / PostgreSQL with users to sign in.
// Arguments: kind, port, users per sign-in method, and the checkout whose src/ to run (before/after
// with BENCH_BASELINE_TREE: this script is the same, the code it serves is that checkout's).
// Prints one JSON line (FlowTarget) once it serves.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Provider, { type ClientMetadata, type KoaContextWithOIDC } from "oidc-provider";
import { PASSWORD } from "../test/helpers/relying-party.js";
import { FLOW_CALLBACK, type FlowTarget, type FlowUser } from "./flow-target-shape.js";

const [kind, portArg, usersArg, tree = join(import.meta.dirname, "..")] = process.argv.slice(2);
const port = Number(portArg);
const usersPerMethod = Number(usersArg);
const issuer = `http://127.0.0.1:${port}`;

/** A module of the served checkout, typed as this checkout's. */
const fromTree = <T>(path: string): Promise<T> => import(pathToFileURL(join(tree, path)).href);

async function bare(): Promise<FlowTarget> {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const clientSecret = randomBytes(32).toString("base64url");
  const client = (clientId: string): ClientMetadata => ({
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ["authorization_code"],
    redirect_uris: [FLOW_CALLBACK],
    response_types: ["code"],
    id_token_signed_response_alg: "ES256",
  });
  const provider = new Provider(issuer, {
    clients: [client("bench"), client("bench-first-party")],
    jwks: { keys: [{ ...jwk, alg: "ES256", use: "sig", kid: "bench" }] as never },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: `${sub}@example.com`, email_verified: true }) }),
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    // A first-party client gets its grant without the consent step (oidc-provider's documented way to skip it).
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client?.clientId as string);
      if (grantId) return oidc.provider.Grant.find(grantId);
      if (oidc.client?.clientId !== "bench-first-party") return undefined;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session?.accountId as string });
      grant.addOIDCScope(String(oidc.params?.scope));
      await grant.save();
      return grant;
    },
  });
  const server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  // devInteractions takes any login: the users only name the accounts.
  const users = (method: string) => Array.from({ length: usersPerMethod }, (_, i) => ({ id: `${method}-${i}`, email: `${method}-${i}` }));
  return {
    issuer,
    password: PASSWORD,
    client: { id: "bench", secret: clientSecret },
    firstPartyClient: { id: "bench-first-party", secret: clientSecret },
    passkeyUsers: users("passkey"),
    passwordUsers: users("password"),
    database: null,
    metricsToken: null,
  };
}

async function ours(embedded: boolean): Promise<FlowTarget> {
  const { loadConfig, loadDefaults } = await fromTree<typeof import("../src/config.js")>("src/config.ts");
  const { openDatabase, pgliteDirectory } = await fromTree<typeof import("../src/db/open-database.js")>("src/db/open-database.ts");
  const { createLogger } = await fromTree<typeof import("../src/logger.js")>("src/logger.ts");
  const { startServer } = await fromTree<typeof import("../src/server.js")>("src/server.ts");
  const { openTestDatabase } = await fromTree<typeof import("../test/helpers/test-database.js")>("test/helpers/test-database.ts");
  const dataDir = mkdtempSync(join(tmpdir(), "idp-bench-"));
  const metricsToken = randomBytes(32).toString("base64url");
  // The defaults as deployed: no throttle or risk rule is loosened (bench/README.md says why none shapes the figures).
  const config = loadConfig(
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      ISSUER: issuer,
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString("base64url"),
      LOG_LEVEL: "silent",
      METRICS_TOKEN: metricsToken,
    },
    loadDefaults(),
  );
  const database = embedded
    ? await openDatabase({ databaseUrl: null, pgliteDir: pgliteDirectory(dataDir), migrate: true })
    : await openTestDatabase("postgres");
  const running = await startServer(config, database, createLogger("silent"));
  process.once("SIGTERM", async () => {
    await running.close(1000);
    await database.close();
    process.exit(0);
  });
  const { clients, users } = running.services;
  const client = await clients.create({ name: "bench", redirectUris: [FLOW_CALLBACK] });
  const firstParty = await clients.create({ name: "bench first party", redirectUris: [FLOW_CALLBACK], firstParty: true });
  const create = async (method: string): Promise<FlowUser[]> => {
    const made: FlowUser[] = [];
    for (let i = 0; i < usersPerMethod; i += 1) {
      const user = await users.create({ email: `${method}-${i}@bench.example`, password: PASSWORD });
      made.push({ id: user.id, email: user.email });
    }
    return made;
  };
  return {
    issuer,
    password: PASSWORD,
    client: { id: client.client_id, secret: client.client_secret as string },
    firstPartyClient: { id: firstParty.client_id, secret: firstParty.client_secret as string },
    passkeyUsers: await create("passkey"),
    passwordUsers: await create("password"),
    database: database.url ? new URL(database.url).pathname.slice(1) : null,
    metricsToken,
  };
}

const target = kind === "bare" ? await bare() : await ours(kind === "pglite");
process.stdout.write(`${JSON.stringify(target)}\n`);
