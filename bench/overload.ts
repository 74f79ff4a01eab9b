// npm run bench:overload: the token endpoint (client_credentials) at twice its saturating rate,
// open loop, with load shedding (config/default.json's `load`) and without it (baseline), interleaved,
// then a recovery run at half the saturating rate. Prints status counts, the latency of accepted
// requests, server CPU per request and how busy the rest of the machine was.
import type { ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { cpuMeter } from "./cpu.js";
import { openLoop } from "./open-loop.js";
import { type OpenLoopSummary, summarizeOpenLoop } from "./open-loop-summary.js";
import { HERE, stopTarget } from "./targets.js";
import { closedLoop, startTokenTarget, tokenRequest } from "./token-load.js";

const SECONDS = Number(process.env.OVERLOAD_SECONDS ?? 60);
const RECOVERY_SECONDS = Number(process.env.OVERLOAD_RECOVERY_SECONDS ?? 10);
const ROUNDS = Number(process.env.OVERLOAD_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.OVERLOAD_CONNECTIONS ?? 32);
const FACTOR = Number(process.env.OVERLOAD_FACTOR ?? 2);
// Connections of the open-loop runs: well above load.maxInFlight + load.maxQueued, so that the server, not this pool, decides.
const SOCKETS = Number(process.env.OVERLOAD_SOCKETS ?? 1000);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_POSTGRES_URL;
const DATABASES = (process.env.OVERLOAD_DATABASES ?? (POSTGRES_URL ? "postgres" : "pglite")).split(",");
// Closed-loop concurrencies to measure throughput and latency at (how load.maxInFlight was sized).
const SWEEP = process.env.OVERLOAD_SWEEP?.split(",").map(Number) ?? [];
// Measure the saturating rate again before every run (on a shared machine the capacity moves), or once.
const PER_RUN_RATE = process.env.OVERLOAD_RATE_ONCE !== "1";

// The baseline is the same code with a limit it never reaches.
const VARIANTS = { baseline: { maxInFlight: 1_000_000, maxQueued: 0 }, shedding: {} } as const;
type Variant = keyof typeof VARIANTS;

interface Target {
  clientId: string;
  clientSecret: string;
  metricsToken: string;
}

/** The server's own count of shed requests by reason (idp_requests_shed_total). */
async function shedCounts(port: number, t: Target): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${t.metricsToken}` } })).text();
  return new Map([...text.matchAll(/^idp_requests_shed_total\{reason="([a-z_]+)"\} (\d+)/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

const delta = (after: Map<string, number>, before: Map<string, number>) =>
  Object.fromEntries([...after].map(([reason, n]) => [reason, n - (before.get(reason) ?? 0)]).filter(([, n]) => n !== 0));

async function startTarget(database: string, load: object): Promise<{ child: ChildProcess; port: number; target: Target }> {
  return startTokenTarget<Target>({ tree: HERE, kind: database, load, postgresUrl: POSTGRES_URL });
}

const ms = (value: number) => (Number.isNaN(value) ? "-" : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

interface Row {
  database: string;
  variant: Variant;
  rate: number;
  overload: OpenLoopSummary & { cpuPerRequest: number; otherCores: number; serverCores: number; generatorCores: number };
  recovery: OpenLoopSummary;
}

async function run(database: string, variant: Variant, rate: number | null, rows: Row[]): Promise<{ rate: number; row: Row }> {
  const { child, port, target } = await startTarget(database, VARIANTS[variant]);
  const pid = child.pid as number;
  const spec = tokenRequest(target);
  await closedLoop(port, spec, CONNECTIONS, 2, pid); // warm-up: JIT, pools, caches
  if (SWEEP.length && rows.length === 0) {
    console.log(`\n[${database}] closed-loop sweep, 5 s each (how load.maxInFlight was sized):`);
    for (const connections of SWEEP) {
      const f = await closedLoop(port, spec, connections, 5, pid);
      const perRequest = f.cpu.serverMs / f.count;
      console.log(
        `  ${String(connections).padStart(4)} in flight: ${f.rps.toFixed(0)} req/s ±${f.stddev.toFixed(0)}, p50 ${f.p50} ms, p99 ${f.p99} ms, server ${perRequest.toFixed(2)} ms CPU/request, other processes ${f.cpu.otherCores.toFixed(2)} cores`,
      );
    }
  }
  let saturating = rate;
  if (saturating === null || PER_RUN_RATE) {
    const f = await closedLoop(port, spec, CONNECTIONS, 5, pid);
    saturating = f.rps;
    console.log(
      `\n[${database} ${variant}] saturating rate (closed loop, ${CONNECTIONS} connections, 5 s): ${f.rps.toFixed(0)} req/s ±${f.stddev.toFixed(0)} (per-second stddev), p99 ${f.p99} ms, server ${(f.cpu.serverMs / f.count).toFixed(2)} ms CPU/request, other processes ${f.cpu.otherCores.toFixed(2)} cores, load average ${load()}`,
    );
  }

  console.log(`[${database} ${variant}] open loop at ${(FACTOR * saturating).toFixed(0)} req/s for ${SECONDS} s (load average ${load()})…`);
  const shedBefore = await shedCounts(port, target);
  const meter = cpuMeter(pid);
  const overload = await openLoop(port, spec, FACTOR * saturating, SECONDS, SOCKETS);
  const cpu = meter.stop();
  const shedDuring = await shedCounts(port, target);
  const recovery = summarizeOpenLoop(await openLoop(port, spec, saturating / 2, RECOVERY_SECONDS, SOCKETS));
  const shedAfter = await shedCounts(port, target);
  await stopTarget(child);
  const summary = summarizeOpenLoop(overload);
  const row: Row = {
    database,
    variant,
    rate: saturating,
    overload: {
      ...summary,
      cpuPerRequest: cpu.serverMs / overload.sent,
      otherCores: cpu.otherCores,
      serverCores: cpu.serverCores,
      generatorCores: cpu.generatorCores,
    },
    recovery,
  };
  const o = row.overload;
  console.log(
    `  ${JSON.stringify(o.statuses)}; accepted p50 ${ms(o.p50)} p99 ${ms(o.p99)} max ${ms(o.max)} (from send: p99 ${ms(o.sendP99)} max ${ms(o.sendMax)}); slower than 5 s: ${o.slow}; 5xx other than 503: ${o.other5xx}; errors: ${o.errors}; shed by reason ${JSON.stringify(delta(shedDuring, shedBefore))}`,
  );
  console.log(
    `  server ${o.serverCores.toFixed(2)} cores (${o.cpuPerRequest.toFixed(2)} ms CPU per request sent), load generator ${o.generatorCores.toFixed(2)} cores (${o.lateStarts} starts > 10 ms late), other processes ${o.otherCores.toFixed(2)} cores; the run took ${cpu.seconds.toFixed(1)} s`,
  );
  console.log(
    `  recovery at ${(saturating / 2).toFixed(0)} req/s for ${RECOVERY_SECONDS} s: ${JSON.stringify(recovery.statuses)}; p50 ${ms(recovery.p50)} p99 ${ms(recovery.p99)} max ${ms(recovery.max)}; shed by reason ${JSON.stringify(delta(shedAfter, shedDuring))}`,
  );
  return { rate: saturating, row };
}

const rows: Row[] = [];
for (const database of DATABASES) {
  let rate: number | null = null;
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const result = await run(database, variant, rate, rows);
      rate = result.rate;
      rows.push(result.row);
    }
  }
}

console.log(`\n/token client_credentials at ${FACTOR}× the saturating rate for ${SECONDS} s, open loop over ${SOCKETS} connections; Node ${process.version}`);
console.log(
  "database  variant  sat. req/s    200     503   other  accepted p50 / p99 / max      p99 from send  >5 s  5xx≠503  server ms/req  other cores  late starts  recovery (all 200? p99)",
);
for (const { database, variant, rate, overload: o, recovery: r } of rows) {
  const other = Object.entries(o.statuses)
    .filter(([status]) => status !== "200" && status !== "503")
    .reduce((sum, [, n]) => sum + n, 0);
  const recovered = r.accepted === Object.values(r.statuses).reduce((a, b) => a + b, 0);
  console.log(
    [
      database.padEnd(9),
      variant.padEnd(9),
      rate.toFixed(0).padStart(9),
      String(o.statuses["200"] ?? 0).padStart(6),
      String(o.statuses["503"] ?? 0).padStart(7),
      String(other).padStart(7),
      `  ${ms(o.p50)} / ${ms(o.p99)} / ${ms(o.max)}`.padEnd(30),
      ms(o.sendP99).padStart(13),
      String(o.slow).padStart(5),
      String(o.other5xx).padStart(8),
      o.cpuPerRequest.toFixed(2).padStart(14),
      o.otherCores.toFixed(2).padStart(12),
      String(o.lateStarts).padStart(12),
      `  ${recovered ? "yes" : "NO"} ${ms(r.p99)}`,
    ].join(" "),
  );
}
