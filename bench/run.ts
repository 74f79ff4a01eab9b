// npm run bench: each scenario against bare oidc-provider (in-memory adapter, the baseline) and
// this IdP on PGlite and on PostgreSQL, started by this script in this run, one at a time.
// Prints requests/s, p50 and p99 latency, and the ratio to the baseline.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { freePort } from "../test/helpers/free-port.js";
import { targetReady } from "./target-process.js";

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_POSTGRES_URL;

interface Target {
  clientId: string;
  clientSecret: string;
  accessToken: string;
  refreshTokens: string[];
  /** A client whose tokens for `resource` are JWTs (RFC 9068). */
  jwtClientId: string;
  jwtClientSecret: string;
  resource: string;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function startTarget(kind: string, port: number, chains: number): Promise<{ child: ChildProcess; target: Target }> {
  const args = [join(import.meta.dirname, "target.ts"), kind, String(port), String(chains)];
  const env = { ...process.env, TEST_POSTGRES_URL: POSTGRES_URL ?? "" };
  const child = spawn(join(import.meta.dirname, "../node_modules/.bin/tsx"), args, { stdio: ["ignore", "pipe", "inherit"], env });
  process.once("exit", () => child.kill("SIGKILL"));
  return { child, target: await targetReady<Target>(child, kind) };
}

// autocannon's option types do not model per-connection context; its runtime does.
type LoadOptions = Record<string, unknown>;
type Scenario = { name: string; options: (t: Target) => LoadOptions };

const basic = (t: Target) => `Basic ${Buffer.from(`${t.clientId}:${t.clientSecret}`).toString("base64")}`;
const form = { "content-type": "application/x-www-form-urlencoded" };

const ALL_SCENARIOS: Scenario[] = [
  { name: "discovery", options: () => ({ path: "/.well-known/openid-configuration" }) },
  { name: "jwks", options: () => ({ path: "/jwks" }) },
  { name: "userinfo", options: (t) => ({ path: "/me", headers: { authorization: `Bearer ${t.accessToken}` } }) },
  {
    name: "introspection",
    options: (t) => ({ method: "POST", path: "/token/introspection", headers: { ...form, authorization: basic(t) }, body: `token=${t.accessToken}` }),
  },
  {
    // Rotation chains: every request spends a token that an earlier response returned. As many
    // chains as connections, so a ready token always exists. (autocannon resets its per-connection
    // context after every pass over `requests`, so the chains live in a shared queue.)
    name: "refresh_rotation",
    options: (t) => {
      const ready = [...t.refreshTokens];
      return {
        requests: [
          {
            method: "POST",
            path: "/token",
            headers: { ...form, authorization: basic(t) },
            setupRequest: (request: Record<string, unknown>) => ({
              ...request,
              body: `grant_type=refresh_token&refresh_token=${ready.shift() ?? "chain-broken"}`,
            }),
            onResponse: (status: number, body: string) => {
              if (status === 200) ready.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
            },
          },
        ],
      };
    },
  },
  // Last: oidc-provider's memory adapter (the baseline) is an LRU of 1000 entries, and the
  // thousands of tokens this issues would evict the tokens the other scenarios use.
  {
    name: "client_credentials",
    options: (t) => ({ method: "POST", path: "/token", headers: { ...form, authorization: basic(t) }, body: "grant_type=client_credentials" }),
  },
  // The same grant for a resource server, as a signed JWT that is stored nowhere (issue #13).
  {
    name: "client_credentials_jwt",
    options: (t) => ({
      method: "POST",
      path: "/token",
      headers: { ...form, authorization: basic({ ...t, clientId: t.jwtClientId, clientSecret: t.jwtClientSecret }) },
      body: `grant_type=client_credentials&resource=${encodeURIComponent(t.resource)}`,
    }),
  },
];
/** BENCH_SCENARIOS=client_credentials,client_credentials_jwt: only those. */
const SCENARIOS = ALL_SCENARIOS.filter((scenario) => !process.env.BENCH_SCENARIOS || process.env.BENCH_SCENARIOS.split(",").includes(scenario.name));

async function measure(port: number, { path = "", ...options }: LoadOptions): Promise<Figures> {
  // autocannon takes the path as part of the URL (a top-level `path` option is ignored).
  const url = `http://127.0.0.1:${port}${path as string}`;
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...options } as unknown as autocannon.Options);
  if (process.env.BENCH_DEBUG) console.log(url, result.statusCodeStats, result.errors);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

const kinds = (process.env.BENCH_TARGETS?.split(",") ?? ["bare", "pglite", ...(POSTGRES_URL ? ["postgres"] : [])]).filter(
  (kind) => kind !== "postgres" || POSTGRES_URL,
);
if (!POSTGRES_URL) console.log("(no BENCH_DATABASE_URL / TEST_POSTGRES_URL: PostgreSQL skipped)");
const results = new Map<string, Map<string, Figures>>();

for (const kind of kinds) {
  const port = await freePort();
  const { child, target } = await startTarget(kind, port, CONNECTIONS);
  const figures = new Map<string, Figures>();
  for (const scenario of SCENARIOS) {
    // A short warm-up (JIT, connection pools, caches) that is not counted; refresh chains start fresh after it.
    if (scenario.name !== "refresh_rotation") await measure(port, { ...scenario.options(target), duration: 1 });
    figures.set(scenario.name, await measure(port, scenario.options(target)));
  }
  results.set(kind, figures);
  await new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
}

const pad = (value: string, width: number) => value.padEnd(width);
console.log(`\n${CONNECTIONS} connections, ${DURATION} s per scenario, Node ${process.version}\n`);
console.log(
  pad("scenario", 24) +
    kinds.map((k) => pad(`${k} req/s (p50/p99 ms)`, 34)).join("") +
    kinds
      .slice(1)
      .map((k) => pad(`${k}/bare`, 14))
      .join(""),
);
for (const scenario of SCENARIOS) {
  const figuresOf = (kind: string) => results.get(kind)?.get(scenario.name) as Figures;
  const cells = kinds.map((kind) => {
    const f = figuresOf(kind);
    return pad(`${f.rps.toFixed(0)} (${f.p50}/${f.p99})${f.errors ? ` ${f.errors} err` : ""}`, 34);
  });
  const ratios = kinds.slice(1).map((kind) => pad((figuresOf(kind).rps / figuresOf("bare").rps).toFixed(2), 14));
  console.log(pad(scenario.name, 24) + cells.join("") + ratios.join(""));
}
