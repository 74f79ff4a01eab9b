// npm run bench:recovery-timing: how long "Lost your passkey?" takes to answer for an address with
// an account and for one without, interleaved over several rounds, per database. The answer is sent
// before the address is looked up (test/integration/recovery.test.ts shows that structurally); this
// prints what a stopwatch on the network sees. A second known account gives the noise floor: the
// spread between two series that differ for no reason but the machine.
import { type ChildProcess, fork } from "node:child_process";
import { loadavg } from "node:os";
import * as oidc from "openid-client";
import { openRecoveryForm } from "../test/helpers/recovery-form.js";
import { createUser, type RelyingParty, RP_CALLBACK } from "../test/helpers/relying-party.js";
import type { DatabaseKind } from "../test/helpers/test-database.js";
import { startTestServer } from "../test/helpers/test-server.js";
import { percentile } from "./open-loop.js";
import { targetReady } from "./target-process.js";

const ROUNDS = Number(process.env.RECOVERY_TIMING_ROUNDS ?? 30);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_POSTGRES_URL;
const DATABASES = (process.env.RECOVERY_TIMING_DATABASES ?? (POSTGRES_URL ? "pglite,postgres" : "pglite")).split(",") as DatabaseKind[];

// The same addresses every round: a first request for an address writes its mail-throttle row and
// later ones update it, which must not pass for a difference between known and unknown.
const SERIES = { known: "known@example.com", unknown: "nobody@example.com", "known (2nd account)": "known-too@example.com" } as const;
type Series = keyof typeof SERIES;

interface Target {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/** The server, in a process of its own (work it does after an answer must not hold up this one's stopwatch). */
async function serve(kind: DatabaseKind) {
  // No throttle in the way: every request is answered as the first one would be.
  const server = await startTestServer(kind, { recovery: { delaySeconds: 0 }, signUp: { mailsPerEmailPerHour: 1_000_000, mailsPerIpPerHour: 1_000_000 } });
  const client = await server.services.clients.create({ name: "bench", redirectUris: [RP_CALLBACK], firstParty: true });
  await createUser(server, SERIES.known);
  await createUser(server, SERIES["known (2nd account)"]);
  // "drain": answers once the mails of earlier requests have gone out; "stop": closes and exits.
  process.on("message", async (message) => {
    if (message === "drain") {
      await server.services.tasks.drain();
      process.send?.("drained");
    } else if (message === "stop") {
      await server.stop();
      process.exit(0);
    }
  });
  process.stdout.write(
    `${JSON.stringify({ issuer: server.issuer, clientId: client.client_id, clientSecret: client.client_secret as string } satisfies Target)}\n`,
  );
}

function drained(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("message", () => resolve());
    child.send("drain");
  });
}

async function measure(kind: DatabaseKind): Promise<Record<Series, number[]>> {
  const child = fork(import.meta.filename, ["serve", kind], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    env: { ...process.env, TEST_POSTGRES_URL: POSTGRES_URL ?? "" },
  });
  process.once("exit", () => child.kill("SIGKILL"));
  try {
    const target = await targetReady<Target>(child, kind);
    const config = await oidc.discovery(new URL(target.issuer), target.clientId, undefined, oidc.ClientSecretBasic(target.clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
    const rp: RelyingParty = { clientId: target.clientId, clientSecret: target.clientSecret, config };
    const names = Object.keys(SERIES) as Series[];
    const timings = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Series, number[]>;
    // Round 0 warms up and is not counted; each round starts the order one further, so every series
    // takes every place in it alike.
    for (let round = 0; round <= ROUNDS; round += 1) {
      for (let i = 0; i < names.length; i += 1) {
        const name = names[(round + i) % names.length] as Series;
        const form = await openRecoveryForm(target, rp);
        // Each answer is timed on a quiet server: the previous request's mail has gone out.
        await drained(child);
        const started = performance.now();
        const sent = await form.submit(SERIES[name]);
        const elapsed = performance.now() - started;
        if (sent.status !== 200) throw new Error(`${name}: status ${sent.status}`);
        if (round > 0) timings[name].push(elapsed);
      }
    }
    return timings;
  } finally {
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.send("stop");
    });
  }
}

const format = (ms: number) => ms.toFixed(2).padStart(8);
const signed = (ms: number) => `${ms >= 0 ? "+" : "−"}${Math.abs(ms).toFixed(2)}`;

async function main() {
  for (const kind of DATABASES) {
    const load = loadavg()[0] as number;
    const timings = await measure(kind);
    const sorted = (name: Series) => [...timings[name]].sort((a, b) => a - b);
    const median = (name: Series) => percentile(sorted(name), 50);
    console.log(`\nrecovery answer time, ${kind}, ${ROUNDS} rounds (ms; load average ${load.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)})`);
    console.log(`${"".padEnd(22)}     p25   median      p75`);
    for (const name of Object.keys(SERIES) as Series[]) {
      console.log(`${name.padEnd(22)}${format(percentile(sorted(name), 25))} ${format(median(name))} ${format(percentile(sorted(name), 75))}`);
    }
    console.log(`known − unknown (medians):     ${signed(median("known") - median("unknown"))} ms`);
    console.log(`noise floor, known − known:    ${signed(median("known") - median("known (2nd account)"))} ms`);
  }
}

if (process.argv[2] === "serve") await serve(process.argv[3] as DatabaseKind);
else await main();
