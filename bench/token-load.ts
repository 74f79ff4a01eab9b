// The token endpoint under load, shared by bench/overload.ts and bench/p99.ts: a target whose pid is
// the server's own (for its CPU time), the request, and a closed-loop run that finds the saturating rate.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { freePort } from "../test/helpers/free-port.js";
import { cpuMeter } from "./cpu.js";
import type { OpenLoopRequest } from "./open-loop.js";
import { targetReady } from "./target-process.js";

/**
 * bench/target.ts of `tree` (`kind`: bare, pglite, postgres), its `load` settings replaced by `load`.
 * Node itself (not the tsx wrapper) so that the child's pid is the server's.
 */
export async function startTokenTarget<T>(options: {
  tree: string;
  kind: string;
  load: object;
  postgresUrl: string | undefined;
  env?: Record<string, string>;
}): Promise<{ child: ChildProcess; port: number; target: T }> {
  // From the kernel: a fixed range could be a port the load generator's own connections hold.
  const port = await freePort();
  const args = ["--import", "tsx", join(options.tree, "bench/target.ts"), options.kind, String(port), "0", JSON.stringify(options.load)];
  const child = spawn(process.execPath, args, {
    cwd: options.tree,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TEST_POSTGRES_URL: options.postgresUrl ?? "", ...options.env },
  });
  process.once("exit", () => child.kill("SIGKILL"));
  return { child, port, target: await targetReady<T>(child, options.kind) };
}

/** `POST /token` client_credentials with client_secret_basic; `body` adds parameters (e.g. `resource=…`). */
export const tokenRequest = (t: { clientId: string; clientSecret: string }, body = ""): OpenLoopRequest => ({
  method: "POST",
  path: "/token",
  headers: {
    "content-type": "application/x-www-form-urlencoded",
    authorization: `Basic ${Buffer.from(`${t.clientId}:${t.clientSecret}`).toString("base64")}`,
  },
  body: `grant_type=client_credentials${body ? `&${body}` : ""}`,
});

/** autocannon with `connections` for `seconds`: throughput, latency and the server's CPU (`pid`). */
export async function closedLoop(port: number, spec: OpenLoopRequest, connections: number, seconds: number, pid: number) {
  const meter = cpuMeter(pid);
  const { path, ...request } = spec;
  const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, ...request, connections, duration: seconds });
  const cpu = meter.stop();
  return {
    rps: result.requests.average,
    stddev: result.requests.stddev,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    cpu,
    count: result.requests.total,
  };
}
