// npm run bench:flows: complete sign-ins, no browser: GET /auth (code + PKCE S256) → the sign-in
// interaction → consent → the redirect with the code → POST /token, each flow with a fresh cookie
// jar, BENCH_FLOWS_IN_FLIGHT at a time, against bare oidc-provider (its devInteractions: the
// ceiling) and this IdP on PostgreSQL and PGlite, interleaved over BENCH_ROUNDS. Prints flows/s,
// p50/p99 per flow, server CPU per flow, and the SQL statements per flow: on PostgreSQL from the
// server's own log, with one flow's statements by kind, table and request; everywhere from the
// IdP's own statement counter.
import type { ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { BrowserSession } from "../test/helpers/browser-session.js";
import { freePort } from "../test/helpers/free-port.js";
import { SoftwareAuthenticator } from "../test/helpers/software-authenticator.js";
import { ownCpuMs } from "./cpu.js";
import { authorizationStart, devInteraction, passkeyInteraction, passwordInteraction, redeem, registerPasskey } from "./flow-steps.js";
import type { FlowTarget, FlowUser } from "./flow-target-shape.js";
import { percentile } from "./open-loop.js";
import { cpuSpent, serverCpu } from "./server-cpu.js";
import { breakdown, type LoggedStatement, logSince, logSize, postgresLogFile, statementsIn } from "./statement-log.js";
import { halfSpread, median } from "./stats.js";
import { HERE, startTarget, stopTarget, type TargetSpec, targetSpecs } from "./targets.js";

const IN_FLIGHT = Number(process.env.BENCH_FLOWS_IN_FLIGHT ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_FLOWS_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_FLOWS_WARMUP_SECONDS ?? 2);
// Users per sign-in method: each belongs to one of the in-flight lanes, so no user is ever in two flows at once.
const USERS = Math.max(IN_FLIGHT, Number(process.env.BENCH_FLOWS_USERS ?? 2 * IN_FLIGHT));
// Sequential flows per kind whose statements are counted (after two not counted).
const STATEMENT_FLOWS = Number(process.env.BENCH_FLOWS_STATEMENT_FLOWS ?? 20);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_POSTGRES_URL;
// Each measured target writes a V8 CPU profile there on exit (bench/cpu-profile-summary.ts reads it).
const PROFILE_DIR = process.env.BENCH_FLOWS_PROFILE_DIR;
const BASELINE_TREE = process.env.BENCH_BASELINE_TREE;

interface FlowKind {
  name: string;
  client: (t: FlowTarget) => FlowTarget["client"];
  users: (t: FlowTarget) => FlowUser[];
  /** From `GET /auth` to the code, for this IdP. */
  interaction: (
    browser: BrowserSession,
    t: FlowTarget,
    startUrl: string,
    user: FlowUser,
    authenticators: Map<string, SoftwareAuthenticator>,
  ) => Promise<string>;
}

const withPasskey = (browser: BrowserSession, t: FlowTarget, url: string, user: FlowUser, authenticators: Map<string, SoftwareAuthenticator>) =>
  passkeyInteraction(browser, t, url, user, authenticators.get(user.id) as SoftwareAuthenticator);

const KINDS: FlowKind[] = [
  { name: "passkey", client: (t) => t.client, users: (t) => t.passkeyUsers, interaction: withPasskey },
  { name: "password", client: (t) => t.client, users: (t) => t.passwordUsers, interaction: passwordInteraction },
  // A client registered with `clients create --first-party`: no consent page. Signs in with a passkey.
  { name: "first-party", client: (t) => t.firstPartyClient, users: (t) => t.passkeyUsers, interaction: withPasskey },
];

interface Figures {
  flowsPerSecond: number;
  p50: number;
  p99: number;
  /** Server CPU per flow, ms: the IdP's processes, and the PostgreSQL backends serving them. */
  idpMs: number;
  dbMs: number;
  /** This process's CPU per flow (the load generator: HTTP client, cookie jars, the authenticator's signatures). */
  driverMs: number;
  errors: number;
}

async function oneFlow(kind: FlowKind, spec: TargetSpec, t: FlowTarget, user: FlowUser, authenticators: Map<string, SoftwareAuthenticator>) {
  const browser = new BrowserSession();
  const client = kind.client(t);
  const start = authorizationStart(t, client);
  const code = spec.kind === "bare" ? await devInteraction(browser, t, start.url, user) : await kind.interaction(browser, t, start.url, user, authenticators);
  await redeem(t, client, code, start.codeVerifier);
}

/** Closed loop: IN_FLIGHT lanes, each running flows one after the other for `seconds`, lane i with users i, i + IN_FLIGHT, … */
async function drive(seconds: number, flow: (user: FlowUser) => Promise<void>, users: FlowUser[]) {
  const durations: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const lane = async (index: number) => {
    const own = users.filter((_, i) => i % IN_FLIGHT === index);
    for (let n = 0; performance.now() < end; n += 1) {
      const begun = performance.now();
      try {
        await flow(own[n % own.length] as FlowUser);
        durations.push(performance.now() - begun);
      } catch (error) {
        if (errors === 0) console.log(`  first failed flow: ${(error as Error).message}`);
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => lane(i)));
  return { durations: durations.sort((a, b) => a - b), errors, seconds: (performance.now() - started) / 1000 };
}

async function startFlowTarget(spec: TargetSpec, appName: string, extraEnv: Record<string, string> = {}) {
  const port = await freePort();
  // This checkout's flow-target.ts serves `spec.tree`'s code (its src/), so an older checkout needs no copy of it.
  const started = await startTarget<FlowTarget>(spec.name, {
    script: join(HERE, "bench/flow-target.ts"),
    args: [spec.kind, String(port), String(USERS), spec.tree],
    cwd: spec.tree,
    env: { TEST_POSTGRES_URL: POSTGRES_URL ?? "", PGAPPNAME: appName, ...extraEnv },
  });
  const authenticators = new Map<string, SoftwareAuthenticator>();
  if (spec.kind !== "bare") {
    // Set-up, not measured: one passkey per passkey user, as a user makes one (password sign-in, "Create a passkey").
    const users = started.target.passkeyUsers;
    for (let i = 0; i < users.length; i += 4) {
      await Promise.all(
        users.slice(i, i + 4).map(async (user) => {
          const authenticator = new SoftwareAuthenticator();
          await registerPasskey(started.target, user, authenticator);
          authenticators.set(user.id, authenticator);
        }),
      );
    }
  }
  return { ...started, authenticators };
}

async function measure(
  spec: TargetSpec,
  kind: FlowKind,
  child: ChildProcess,
  t: FlowTarget,
  authenticators: Map<string, SoftwareAuthenticator>,
  appName: string,
) {
  const flow = (user: FlowUser) => oneFlow(kind, spec, t, user, authenticators);
  await drive(WARMUP_SECONDS, flow, kind.users(t));
  const before = await serverCpu(child, POSTGRES_URL, appName);
  const driverBefore = ownCpuMs();
  const run = await drive(SECONDS, flow, kind.users(t));
  const driverMs = ownCpuMs() - driverBefore;
  const { idpMs, dbMs } = cpuSpent(before, await serverCpu(child, POSTGRES_URL, appName));
  const flows = Math.max(1, run.durations.length);
  if (PROFILE_DIR) console.log(`  ${spec.name} ${kind.name}: ${run.durations.length} flows in the last ${run.seconds.toFixed(1)} s measured`);
  return {
    flowsPerSecond: run.durations.length / run.seconds,
    p50: percentile(run.durations, 50),
    p99: percentile(run.durations, 99),
    idpMs: idpMs / flows,
    dbMs: dbMs / flows,
    driverMs: driverMs / flows,
    errors: run.errors,
  };
}

/** One HTTP request of a flow and the statements it caused (its background work included). */
interface Step {
  request: string;
  statements: LoggedStatement[];
}

interface StatementCount {
  /** From PostgreSQL's log (null on PGlite): per flow, and the steps of the median flow. */
  perFlow: number[] | null;
  one: Step[] | null;
  /** From the IdP's own idp_database_statements_total (null when the served checkout has no such metric). */
  counted: number[] | null;
}

/** The IdP's own count of the statements it sent (a checkout from before that metric: null). */
async function statementsSent(t: FlowTarget): Promise<number | null> {
  const text = await (await fetch(`${t.issuer}/metrics`, { headers: { authorization: `Bearer ${t.metricsToken}` } })).text();
  const value = text.match(/^idp_database_statements_total (\d+)/m)?.[1];
  return value === undefined ? null : Number(value);
}

/** `/interaction/9fK…/passkey/…` → `/interaction/:id/passkey/…`: the random ids of a path, for grouping. */
const requestLabel = (method: string, url: string) =>
  `${method} ${new URL(url).pathname
    .split("/")
    .map((part) => (part.length >= 20 ? ":id" : part))
    .join("/")}`;

/**
 * Records, for each request this process sends with fetch, the statements of `database` the
 * server logged from its start until `SETTLE_MS` after its answer (flows run one at a time here).
 */
function recordSteps(logFile: string, database: string, steps: Step[]): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const from = logSize(logFile);
    const response = await original(input, init);
    const body = await response.arrayBuffer();
    // Work a request leaves for after its answer (background tasks) still belongs to it.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    steps.push({ request: requestLabel(init?.method ?? "GET", String(input)), statements: statementsIn(logSince(logFile, from), database) });
    return new Response([204, 304].includes(response.status) ? null : body, { status: response.status, headers: response.headers });
  };
  return () => {
    globalThis.fetch = original;
  };
}

const SETTLE_MS = 100;

/**
 * K sequential flows per kind, counted by the IdP's own statement counter and, on PostgreSQL
 * (`logFile`), in the server's log: the target's connections log every statement
 * (PGOPTIONS=-c log_statement=all: only this target's sessions, the role being a superuser), and
 * each request's statements are read from the cluster's log between two offsets, filtered by its
 * database.
 */
async function countStatements(spec: TargetSpec, logFile: string | null): Promise<Map<string, StatementCount>> {
  const appName = `idp-flows-sql-${process.pid}-${spec.name}`;
  const { child, target, authenticators } = await startFlowTarget(spec, appName, logFile ? { PGOPTIONS: "-c log_statement=all" } : {});
  const counts = new Map<string, StatementCount>();
  for (const kind of flowKinds) {
    const users = kind.users(target);
    const flows: Step[][] = [];
    const counted: (number | null)[] = [];
    for (let i = 0; i < STATEMENT_FLOWS + 2; i += 1) {
      const steps: Step[] = [];
      const before = await statementsSent(target);
      const restore = logFile ? recordSteps(logFile, target.database as string, steps) : () => {};
      try {
        await oneFlow(kind, spec, target, users[i % users.length] as FlowUser, authenticators);
      } finally {
        restore();
      }
      if (!logFile) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const after = await statementsSent(target);
      // The first two warm the caches a busy server has warm.
      if (i < 2) continue;
      flows.push(steps);
      counted.push(before === null || after === null ? null : after - before);
    }
    const total = (steps: Step[]) => steps.reduce((sum, step) => sum + step.statements.length, 0);
    const sorted = [...flows].sort((a, b) => total(a) - total(b));
    counts.set(kind.name, {
      perFlow: logFile ? flows.map(total) : null,
      one: logFile ? (sorted[Math.floor(sorted.length / 2)] as Step[]) : null,
      counted: counted.every((n) => n !== null) ? (counted as number[]) : null,
    });
  }
  await stopTarget(child);
  return counts;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const pad = (value: string, width: number) => value.padEnd(width);

const kinds = (process.env.BENCH_TARGETS?.split(",") ?? ["bare", ...(POSTGRES_URL ? ["postgres"] : []), "pglite"]).filter(
  (kind) => kind !== "postgres" || POSTGRES_URL,
);
if (!POSTGRES_URL) console.log("(no BENCH_DATABASE_URL / TEST_POSTGRES_URL: PostgreSQL skipped)");
const flowKindNames = process.env.BENCH_FLOW_KINDS?.split(",");
const flowKinds = KINDS.filter((kind) => !flowKindNames || flowKindNames.includes(kind.name));
const targets = targetSpecs(kinds, BASELINE_TREE);
console.log(`${new Date().toISOString()}, load average ${load()}, Node ${process.version}`);

const statements = new Map<string, Map<string, StatementCount>>();
if (STATEMENT_FLOWS > 0) {
  const logFile = POSTGRES_URL ? await postgresLogFile(POSTGRES_URL) : null;
  for (const spec of targets.filter((t) => t.kind !== "bare")) {
    const fromLog = spec.kind === "postgres" ? logFile : null;
    statements.set(spec.name, await countStatements(spec, fromLog));
    console.log(`statements counted: ${spec.name} (${STATEMENT_FLOWS} sequential flows per kind${fromLog ? `, from ${fromLog}` : ""})`);
  }
}

// results[target][kind] = one Figures per round.
const results = new Map<string, Map<string, Figures[]>>(targets.map((t) => [t.name, new Map(flowKinds.map((k) => [k.name, []]))]));
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const spec of targets) {
    const appName = `idp-flows-${process.pid}-${round}-${spec.name}`;
    const profile: Record<string, string> = PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` } : {};
    const { child, target, authenticators } = await startFlowTarget(spec, appName, profile);
    for (const kind of flowKinds)
      results
        .get(spec.name)
        ?.get(kind.name)
        ?.push(await measure(spec, kind, child, target, authenticators, appName));
    await stopTarget(child);
    console.log(`round ${round}/${ROUNDS}: ${spec.name} done (load average ${load()})`);
  }
}

console.log(
  `\n${IN_FLIGHT} flows in flight, ${SECONDS} s per kind after ${WARMUP_SECONDS} s of warm-up, ${USERS} users per sign-in method, ${ROUNDS} rounds interleaved; medians over rounds; load average ${load()}`,
);
console.log(
  "CPU ms/flow: the IdP's processes + the PostgreSQL backends serving it (from /proc); driver: this load generator's own; SQL/flow: in PostgreSQL's statement log / by the IdP's idp_database_statements_total\n",
);
console.log(
  [
    pad("kind", 13),
    pad("target", 16),
    pad("flows/s", 9),
    pad("p50/p99 ms", 13),
    pad("/bare", 7),
    pad("CPU ms/flow (idp+db)", 22),
    pad("driver ms/flow", 16),
    pad("SQL/flow", 14),
    "errors",
  ].join(""),
);
const runsOf = (target: string, kind: string) => results.get(target)?.get(kind) as Figures[];
for (const kind of flowKinds) {
  const bare = runsOf("bare", kind.name);
  for (const spec of targets) {
    const runs = runsOf(spec.name, kind.name);
    const ratio = median(runs.map((f, i) => f.flowsPerSecond / (bare[i]?.flowsPerSecond as number)));
    const idp = median(runs.map((f) => f.idpMs));
    const db = median(runs.map((f) => f.dbMs));
    const mean = (values: number[] | null | undefined) => (values ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(1) : "-");
    const counts = statements.get(spec.name)?.get(kind.name);
    const sql = spec.kind === "bare" ? "0" : `${mean(counts?.perFlow)} / ${mean(counts?.counted)}`;
    console.log(
      pad(spec.name === targets[0]?.name ? kind.name : "", 13) +
        pad(spec.name, 16) +
        pad(median(runs.map((f) => f.flowsPerSecond)).toFixed(1), 9) +
        pad(`${median(runs.map((f) => f.p50)).toFixed(0)}/${median(runs.map((f) => f.p99)).toFixed(0)}`, 13) +
        pad(spec.kind === "bare" ? "" : ratio.toFixed(2), 7) +
        pad(`${(idp + db).toFixed(2)} (${idp.toFixed(2)}+${db.toFixed(2)})`, 22) +
        pad(median(runs.map((f) => f.driverMs)).toFixed(2), 16) +
        pad(sql, 14) +
        String(runs.reduce((sum, f) => sum + f.errors, 0) || ""),
    );
  }
  console.log(
    pad("", 13) +
      `noise floor (bare vs bare over ${ROUNDS} rounds): flows/s ±${(halfSpread(bare.map((f) => f.flowsPerSecond)) * 100).toFixed(0)} %, CPU/flow ±${(halfSpread(bare.map((f) => f.idpMs)) * 100).toFixed(0)} %`,
  );
}

for (const [target, byKind] of statements) {
  for (const [kind, { perFlow, one }] of byKind) {
    if (!perFlow || !one) continue;
    const all = one.flatMap((step) => step.statements);
    const { byKind: kinds, byKindAndTable } = breakdown(all);
    console.log(
      `\n${target}, ${kind}: statements per flow ${Math.min(...perFlow)}–${Math.max(...perFlow)} over ${perFlow.length} flows; the median flow's ${all.length}:`,
    );
    console.log(`  by kind: ${kinds.map(([k, n]) => `${k} ${n}`).join(", ")}`);
    for (const [key, n] of byKindAndTable) console.log(`  ${String(n).padStart(3)}  ${key}`);
    console.log("  by request:");
    for (const step of one) {
      const tables = breakdown(step.statements).byKindAndTable.map(([key, n]) => (n > 1 ? `${n}× ${key}` : key));
      console.log(`  ${String(step.statements.length).padStart(3)}  ${step.request}${tables.length ? `: ${tables.join("; ")}` : ""}`);
    }
    if (process.env.BENCH_DEBUG) for (const statement of all) console.log(`    ${statement.sql.replace(/\s+/g, " ").slice(0, 160)}`);
  }
}
