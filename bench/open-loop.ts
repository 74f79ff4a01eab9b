// An open-loop load generator: requests start on a fixed schedule whatever the answers do, and
// each latency counts from the request's scheduled start (no coordinated omission). Over a fixed
// pool of keep-alive connections, as behind a proxy: one new connection per request would turn an
// overload into a storm of dropped SYNs (retried after 1, 3, 7, 15, 31 s), which measures the
// kernel's listen queue rather than the server.
import { Agent, request } from "node:http";

export interface OpenLoopRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface OpenLoopResult {
  sent: number;
  /** Status code (or "error:<code>" for a failed exchange) → count. */
  statuses: Map<string, number>;
  /** Milliseconds from scheduled start to the end of the answer, per request, by status. */
  latencies: Map<string, number[]>;
  /** The same from the moment the generator issued it: its own lateness left out, a wait for a free connection of the pool included. */
  fromSend: Map<string, number[]>;
  /** Scheduled starts that were late by more than 10 ms: the generator itself was short of CPU. */
  lateStarts: number;
}

const TICK_MS = 2;

export async function openLoop(port: number, spec: OpenLoopRequest, rate: number, seconds: number, sockets: number): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const statuses = new Map<string, number>();
  const latencies = new Map<string, number[]>();
  const fromSend = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, key: string, ms: number) => {
    const list = map.get(key) ?? [];
    list.push(ms);
    map.set(key, list);
  };
  const record = (key: string, scheduled: number, sentAt: number) => {
    const now = performance.now();
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    push(latencies, key, now - scheduled);
    push(fromSend, key, now - sentAt);
  };
  const pending = new Set<Promise<void>>();
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  let sent = 0;
  let lateStarts = 0;

  const fire = (scheduled: number) => {
    const sentAt = performance.now();
    const done = new Promise<void>((resolve) => {
      const outgoing = request({ host: "127.0.0.1", port, agent, method: spec.method, path: spec.path, headers: spec.headers }, (response) => {
        response.resume();
        response.once("end", () => {
          record(String(response.statusCode), scheduled, sentAt);
          resolve();
        });
      });
      outgoing.once("error", (error: NodeJS.ErrnoException) => {
        record(`error:${error.code ?? error.message}`, scheduled, sentAt);
        resolve();
      });
      outgoing.end(spec.body);
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  };

  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const scheduled = start + sent * interval;
        if (now - scheduled > 10) lateStarts += 1;
        fire(scheduled);
        sent += 1;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  await Promise.all(pending);
  agent.destroy();
  return { sent, statuses, latencies, fromSend, lateStarts };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
