// npm run bench:memory (issue #13): resident memory of an idle server, the production start
// (`NODE_ENV=production node dist/main.js`, https issuer behind one proxy hop), on PGlite and, when
// BENCH_DATABASE_URL / TEST_POSTGRES_URL is set, on PostgreSQL (a fresh database, dropped after).
// Each run starts a server on an already migrated database (a restart, the usual case), lets it
// idle, reads its memory, sends a small warm-up (discovery, JWKS, client_credentials tokens and
// their introspection), idles again and reads again. Prints medians over the runs, the breakdown
// and the targets.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/free-port.js";
import { spawnServer, stopServer, waitUntilStarted } from "../test/helpers/server-process.js";
import { createPostgresDatabase } from "../test/helpers/test-database.js";
import { tokenRequest } from "../test/helpers/token-requests.js";
import { percentile } from "./open-loop.js";

const RUNS = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const IDLE_SECONDS = Number(process.env.BENCH_MEMORY_IDLE_SECONDS ?? 5);
const WARMUP_ROUNDS = Number(process.env.BENCH_MEMORY_WARMUP ?? 30);
// Extra `node` arguments for the server, to try V8 flags: BENCH_MEMORY_NODE_ARGS="--max-semi-space-size=8".
const NODE_ARGS = (process.env.BENCH_MEMORY_NODE_ARGS ?? "").split(" ").filter(Boolean);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_POSTGRES_URL;
// Issue #13, target 5, in MiB.
const TARGETS = { pglite: 250, postgres: 180 } as const;
const ROOT = resolve(import.meta.dirname, "..");
const NODE = join(ROOT, "node_modules/.bin/node");
const PROBE = join(ROOT, "bench/memory-probe.mjs");
const MIB = 1024 * 1024;
const ISSUER = "https://id.example.test";
// What the TLS proxy in front adds; TRUST_PROXY=1 believes it.
const PROXY_HEADERS = { "x-forwarded-proto": "https", "x-forwarded-host": "id.example.test" };

type Kind = keyof typeof TARGETS;

interface ThreadProbe {
  thread: "main" | "worker";
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
  wasm: { owner: string; bytes: number }[];
}

/** The main thread's figures, and every thread's (the PGlite thread's too) in `threads`. */
interface Probe extends ThreadProbe {
  threads: ThreadProbe[];
}

/** One reading, in MiB. */
type Reading = Record<string, number>;

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
  sizeKb: number;
  rssKb: number;
}

function mappings(pid: number): Mapping[] {
  return readFileSync(`/proc/${pid}/smaps`, "utf8")
    .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
    .map((block) => {
      const [range = "", perms = "", ...rest] = (block.split("\n")[0] as string).split(/\s+/);
      const [start = "0", end = "0"] = range.split("-");
      return {
        start: BigInt(`0x${start}`),
        end: BigInt(`0x${end}`),
        perms,
        name: rest.slice(3).join(" "),
        sizeKb: Number(block.match(/\nSize:\s+(\d+)/)?.[1] ?? 0),
        rssKb: Number(block.match(/\nRss:\s+(\d+)/)?.[1] ?? 0),
      };
    });
}

// glibc gives each thread past the first an arena of 64 MiB-aligned heaps (HEAP_MAX_SIZE on 64-bit):
// a read-write start and an inaccessible rest up to the next 64 MiB boundary.
const ARENA_HEAP = 64n * 1024n * 1024n;
function isThreadArena(mapping: Mapping, next: Mapping | undefined): boolean {
  if (mapping.name !== "" || mapping.perms !== "rw-p" || mapping.start % ARENA_HEAP !== 0n) return false;
  return mapping.end - mapping.start === ARENA_HEAP || (next?.perms === "---p" && next.start === mapping.end && next.end === mapping.start + ARENA_HEAP);
}

const statusKb = (pid: number, field: string) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${field}:\\s+(\\d+)`))?.[1]);

async function probe(pid: number, file: string): Promise<Probe> {
  rmSync(file, { force: true });
  process.kill(pid, "SIGUSR2");
  for (let waited = 0; waited < 5000; waited += 50) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as Probe;
      } catch {
        // still being written
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the memory probe did not answer");
}

const WASM_OWNERS: Record<string, string> = {
  "@electric-sql/pglite": "PGlite heap",
  "@prisma/client": "query compiler",
  "db/schema-engine.js": "schema engine",
};

/** VmRSS and where it is: WebAssembly memories (their resident part), V8, files, malloc, the rest. */
async function read(pid: number, probeFile: string): Promise<Reading> {
  const inside = await probe(pid, probeFile);
  const maps = mappings(pid);
  const rssOf = (keep: (m: Mapping) => boolean) => maps.filter(keep).reduce((sum, m) => sum + m.rssKb, 0) / 1024;
  const reading: Reading = { VmRSS: statusKb(pid, "VmRSS") / 1024, VmHWM: statusKb(pid, "VmHWM") / 1024 };
  const wasmMappings = new Set<Mapping>();
  for (const { owner, bytes } of inside.threads.flatMap((thread) => thread.wasm)) {
    const label = WASM_OWNERS[owner] ?? owner;
    // A WebAssembly memory is one anonymous mapping of exactly its size (inside a larger reservation).
    const mapping = maps.find((m) => m.name === "" && m.sizeKb * 1024 === bytes && !wasmMappings.has(m));
    if (mapping) wasmMappings.add(mapping);
    reading[`wasm: ${label} (count)`] = (reading[`wasm: ${label} (count)`] ?? 0) + 1;
    reading[`wasm: ${label} size`] = (reading[`wasm: ${label} size`] ?? 0) + bytes / MIB;
    reading[`wasm: ${label} resident`] = (reading[`wasm: ${label} resident`] ?? 0) + (mapping?.rssKb ?? 0) / 1024;
  }
  reading["node binary (file)"] = rssOf((m) => m.name.endsWith("/node"));
  reading["other files (libraries, addons)"] = rssOf((m) => m.name.startsWith("/") && !m.name.endsWith("/node"));
  reading["malloc [heap]"] = rssOf((m) => m.name === "[heap]");
  const arenas = new Set(maps.filter((m, index) => !wasmMappings.has(m) && isThreadArena(m, maps[index + 1])));
  reading["malloc arenas of other threads"] = rssOf((m) => arenas.has(m));
  reading["executable anonymous (compiled code)"] = rssOf((m) => m.name === "" && m.perms.includes("x"));
  reading["other anonymous"] = rssOf((m) => m.name === "" && !m.perms.includes("x") && !wasmMappings.has(m) && !arenas.has(m));
  reading["stacks, vdso"] = rssOf((m) => m.name.startsWith("[") && m.name !== "[heap]");
  inside.threads.forEach((thread, index) => {
    const name = index === 0 ? "main" : `worker ${index}`;
    reading[`V8 heap committed (${name})`] = thread.heapTotal / MIB;
    reading[`  of which new space (${name})`] = (thread.spaces.new_space ?? 0) / MIB;
    reading[`V8 heap used (${name})`] = thread.heapUsed / MIB;
    reading[`external (${name})`] = thread.external / MIB;
  });
  return reading;
}

function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(NODE, ["dist/cli/main.js", ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "silent", ...env } });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("close", (code) => (code === 0 ? done(output) : fail(new Error(`idp ${args.join(" ")} exited with ${code}: ${output}`))));
  });
}

async function warmUp(url: string, client: { clientId: string; clientSecret: string }): Promise<void> {
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: PROXY_HEADERS });
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}`);
    await response.arrayBuffer();
  };
  for (let round = 0; round < WARMUP_ROUNDS; round += 1) {
    await get("/.well-known/openid-configuration");
    await get("/jwks");
    const token = await tokenRequest(url, { grant_type: "client_credentials" }, client, PROXY_HEADERS);
    if (token.status !== 200) throw new Error(`POST /token: ${token.status} ${JSON.stringify(token.body)}`);
    const response = await fetch(`${url}/token/introspection`, {
      method: "POST",
      headers: {
        ...PROXY_HEADERS,
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams({ token: token.body.access_token as string }),
    });
    if (response.status !== 200) throw new Error(`POST /token/introspection: ${response.status}`);
    await response.arrayBuffer();
  }
}

const idle = () => new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
const cleanups: (() => Promise<void>)[] = [];

interface Target {
  kind: Kind;
  env: Record<string, string>;
  client: { clientId: string; clientSecret: string };
}

async function prepare(kind: Kind): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), "idp-bench-memory-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  let databaseUrl = "";
  if (kind === "postgres") {
    const database = await createPostgresDatabase({ prefix: "idp_bench" });
    cleanups.push(database.drop);
    databaseUrl = database.url;
  }
  const env = {
    NODE_ENV: "production",
    ISSUER,
    TRUST_PROXY: "1",
    SECRET_KEY: randomBytes(32).toString("base64url"),
    SMTP_URL: "smtp://127.0.0.1:1", // never used: nothing here sends mail
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    HOST: "127.0.0.1",
  };
  // The CLI migrates the empty database and makes the client; the servers measured then restart on it.
  const created = await runCli(["clients", "create", "--name", "bench", "--client-credentials"], env);
  const field = (name: string) => created.match(new RegExp(`${name}:\\s+(\\S+)`))?.[1] as string;
  return { kind, env, client: { clientId: field("client_id"), clientSecret: field("client_secret") } };
}

async function measure(target: Target): Promise<{ started: Reading; warm: Reading }> {
  const port = await freePort();
  const probeFile = join(tmpdir(), `idp-bench-memory-probe-${process.pid}.json`);
  const server = spawnServer({ ...target.env, PORT: String(port), MEMORY_PROBE_FILE: probeFile }, [...NODE_ARGS, "--import", PROBE, "dist/main.js"]);
  try {
    await waitUntilStarted(server);
    const pid = server.child.pid as number;
    await idle();
    const started = await read(pid, probeFile);
    await warmUp(`http://127.0.0.1:${port}`, target.client);
    await idle();
    return { started, warm: await read(pid, probeFile) };
  } finally {
    await stopServer(server);
    rmSync(probeFile, { force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 50);
}

try {
  if (!existsSync(join(ROOT, "dist/main.js"))) throw new Error("no dist/main.js: run `npm run build` (npm run bench:memory does)");
  const kinds: Kind[] = POSTGRES_URL ? ["pglite", "postgres"] : ["pglite"];
  if (POSTGRES_URL) process.env.TEST_POSTGRES_URL = POSTGRES_URL;
  else console.log("(no BENCH_DATABASE_URL / TEST_POSTGRES_URL: PostgreSQL skipped)");
  const targets = await Promise.all(kinds.map(prepare));
  const loadBefore = loadavg()[0] as number;
  const results = new Map<Kind, { started: Reading; warm: Reading }[]>(kinds.map((kind) => [kind, []]));
  // Runs alternate between the databases, so that a drift of the machine moves them alike.
  for (let run = 0; run < RUNS; run += 1) {
    for (const target of targets) results.get(target.kind)?.push(await measure(target));
  }

  console.log(
    `\nIdle memory of \`node dist/main.js\` (NODE_ENV=production), MiB, median of ${RUNS} runs; idle ${IDLE_SECONDS} s before each reading, ` +
      `warm-up ${WARMUP_ROUNDS} × (discovery, JWKS, client_credentials token, introspection); Node ${process.version}${NODE_ARGS.length ? `, ${NODE_ARGS.join(" ")}` : ""}; ` +
      `load average ${loadBefore.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)}`,
  );
  for (const kind of kinds) {
    const runs = results.get(kind) ?? [];
    const labels = [...new Set(runs.flatMap((r) => [...Object.keys(r.started), ...Object.keys(r.warm)]))];
    const cell = (moment: "started" | "warm", label: string) => {
      const values = runs.map((r) => r[moment][label]).filter((v): v is number => v !== undefined);
      if (values.length === 0) return "–";
      return label.endsWith("(count)") ? String(median(values)) : median(values).toFixed(1);
    };
    console.log(`\n${kind}${" ".repeat(36 - kind.length)}${"after start".padStart(12)}${"after warm-up".padStart(15)}`);
    for (const label of labels) console.log(`  ${label.padEnd(34)}${cell("started", label).padStart(12)}${cell("warm", label).padStart(15)}`);
    const warmRss = median(runs.map((r) => r.warm.VmRSS as number));
    console.log(`  target: VmRSS ≤ ${TARGETS[kind]} MiB: ${warmRss <= TARGETS[kind] ? "met" : "MISSED"} (${warmRss.toFixed(0)} MiB after warm-up)`);
  }
  console.log(
    "\nwasm … resident: the part of each WebAssembly memory in RAM; malloc arenas of other threads: what the PGlite thread, V8's compiler and GC threads and libuv's pool allocated with malloc (freed memory glibc keeps counts); executable anonymous: V8's code spaces with the code compiled so far (JavaScript, WebAssembly); other anonymous: the V8 heaps, V8's read-only code pages and the rest.",
  );
} finally {
  for (const cleanup of cleanups) await cleanup();
}
