// npm run bench: each scenario against bare oidc-provider (in-memory adapter, the baseline) and
// this IdP on PGlite and on PostgreSQL, each target in a process of its own, started and stopped by
// this script; the targets take turns, round after round (BENCH_ROUNDS), so that a drift in the
// shared machine's speed moves them alike. Prints medians of requests/s, p50/p99 latency, the
// ratio to the same round's baseline, the server CPU per request (the IdP's processes, and on
// PostgreSQL the backends serving it), and the spread of the baseline across rounds: the noise floor.
// BENCH_BASELINE_TREE=<another checkout> adds that checkout's targets (`postgres@base`, …): before/after.
// BENCH_WORKERS=1,2 replaces the PostgreSQL target by the real entry with WORKERS=1, then 2 (`postgres-w1`, …);
// BENCH_TARGET_CPUS=0,1 runs the targets under `taskset -c` (pin this process elsewhere with taskset too).
// BENCH_RATE=<req/s> offers every target the same rate instead of as much as it takes.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { freePort } from "../test/helpers/free-port.js";
import { cpuSpent, serverCpu } from "./server-cpu.js";
import { halfSpread, median } from "./stats.js";
import { startTarget, stopTarget, type TargetSpec, targetSpecs } from "./targets.js";

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_POSTGRES_URL;
const BASELINE_TREE = process.env.BENCH_BASELINE_TREE;
const WORKERS = process.env.BENCH_WORKERS?.split(",").map(Number);
const TARGET_CPUS = process.env.BENCH_TARGET_CPUS;
/** Requests/s for every target alike (autocannon's overallRate), below saturation: CPU per request without a queue. */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;

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

// autocannon's option types do not model per-connection context; its runtime does.
type LoadOptions = Record<string, unknown>;
type Scenario = { name: string; options: (t: Target) => LoadOptions };

const basic = (t: Target) => `Basic ${Buffer.from(`${t.clientId}:${t.clientSecret}`).toString("base64")}`;
const form = { "content-type": "application/x-www-form-urlencoded" };

const SCENARIOS: Scenario[] = [
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

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Server CPU per request, µs: the IdP's processes, and the PostgreSQL backends serving them. */
  idpUs: number;
  dbUs: number;
}

async function startRunTarget(spec: TargetSpec, port: number, appName: string): Promise<{ child: ChildProcess; target: Target }> {
  // PGAPPNAME names the target's PostgreSQL connections, so that its backends can be found.
  return startTarget<Target>(spec.name, {
    script: join(spec.tree, "bench/target.ts"),
    args: [spec.kind, String(port), String(CONNECTIONS)],
    cwd: spec.tree,
    env: { TEST_POSTGRES_URL: POSTGRES_URL ?? "", PGAPPNAME: appName, BENCH_ENTRY_WORKERS: spec.workers ? String(spec.workers) : "" },
    cpus: TARGET_CPUS,
  });
}

async function measure(port: number, { path = "", ...options }: LoadOptions, child: ChildProcess, appName: string): Promise<Figures> {
  // autocannon takes the path as part of the URL (a top-level `path` option is ignored).
  const url = `http://127.0.0.1:${port}${path as string}`;
  const before = await serverCpu(child, POSTGRES_URL, appName);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, overallRate: RATE, ...options } as unknown as autocannon.Options);
  const { idpMs, dbMs } = cpuSpent(before, await serverCpu(child, POSTGRES_URL, appName));
  if (process.env.BENCH_DEBUG) console.log(url, result.statusCodeStats, result.errors);
  const requests = Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    idpUs: (idpMs * 1000) / requests,
    dbUs: (dbMs * 1000) / requests,
  };
}

const scenarioNames = process.env.BENCH_SCENARIOS?.split(",");
const scenarios = SCENARIOS.filter((scenario) => !scenarioNames || scenarioNames.includes(scenario.name));
const kinds = (process.env.BENCH_TARGETS?.split(",") ?? ["bare", "pglite", ...(POSTGRES_URL ? ["postgres"] : [])]).filter(
  (kind) => kind !== "postgres" || POSTGRES_URL,
);
if (!POSTGRES_URL) console.log("(no BENCH_DATABASE_URL / TEST_POSTGRES_URL: PostgreSQL skipped)");
const targets = targetSpecs(kinds, BASELINE_TREE, WORKERS);

// results[target][scenario] = one Figures per round.
const results = new Map<string, Map<string, Figures[]>>(targets.map((t) => [t.name, new Map(scenarios.map((s) => [s.name, []]))]));

for (let round = 1; round <= ROUNDS; round += 1) {
  for (const spec of targets) {
    const port = await freePort();
    const appName = `idp-bench-${process.pid}-${round}-${spec.name}`;
    const { child, target } = await startRunTarget(spec, port, appName);
    for (const scenario of scenarios) {
      // A short warm-up (JIT, connection pools, caches) that is not counted; refresh chains start fresh after it.
      if (scenario.name !== "refresh_rotation") await measure(port, { ...scenario.options(target), duration: 1 }, child, appName);
      results
        .get(spec.name)
        ?.get(scenario.name)
        ?.push(await measure(port, scenario.options(target), child, appName));
    }
    await stopTarget(child);
    console.log(`round ${round}/${ROUNDS}: ${spec.name} done`);
  }
}

const pad = (value: string, width: number) => value.padEnd(width);
const runsOf = (target: string, scenario: string) => results.get(target)?.get(scenario) as Figures[];

console.log(`\n${CONNECTIONS} connections, ${DURATION} s per scenario, ${ROUNDS} rounds interleaved, Node ${process.version}; medians over rounds`);
console.log("CPU µs/request: the IdP's processes + the PostgreSQL backends serving it (from /proc)\n");
console.log(
  [pad("scenario", 20), pad("target", 16), pad("req/s", 8), pad("p50/p99 ms", 12), pad("/bare", 8), pad("CPU µs/req (idp+db)", 22), "errors"].join(""),
);
for (const scenario of scenarios) {
  const bare = runsOf("bare", scenario.name);
  for (const spec of targets) {
    const runs = runsOf(spec.name, scenario.name);
    // The ratio to the baseline of the same round, then the median of those.
    const ratio = median(runs.map((f, i) => f.rps / (bare[i]?.rps as number)));
    const idp = median(runs.map((f) => f.idpUs));
    const db = median(runs.map((f) => f.dbUs));
    const errors = runs.reduce((sum, f) => sum + f.errors, 0);
    console.log(
      pad(spec.name === targets[0]?.name ? scenario.name : "", 20) +
        pad(spec.name, 16) +
        pad(median(runs.map((f) => f.rps)).toFixed(0), 8) +
        pad(`${median(runs.map((f) => f.p50))}/${median(runs.map((f) => f.p99))}`, 12) +
        pad(spec.name === "bare" ? "" : ratio.toFixed(2), 8) +
        pad(`${(idp + db).toFixed(0)} (${idp.toFixed(0)}+${db.toFixed(0)})`, 22) +
        (errors ? String(errors) : ""),
    );
  }
  if (WORKERS && WORKERS.length > 1 && kinds.includes("postgres")) {
    const [fewest, most] = [WORKERS[0], WORKERS.at(-1)];
    const fewer = runsOf(`postgres-w${fewest}`, scenario.name);
    const scaled = runsOf(`postgres-w${most}`, scenario.name).map((f, i) => f.rps / (fewer[i]?.rps as number));
    console.log(
      `${pad("", 20)}WORKERS=${most} / WORKERS=${fewest} req/s, same round: median ${median(scaled).toFixed(2)} (rounds: ${scaled.map((r) => r.toFixed(2)).join(", ")})`,
    );
  }
  const spread = halfSpread(bare.map((f) => f.rps));
  const cpuSpread = halfSpread(bare.map((f) => f.idpUs));
  console.log(
    `${pad("", 20)}noise floor (bare vs bare over ${ROUNDS} rounds): req/s ±${(spread * 100).toFixed(0)} %, CPU/req ±${(cpuSpread * 100).toFixed(0)} %`,
  );
}
