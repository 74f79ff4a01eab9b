import { type OpenLoopResult, percentile } from "./open-loop.js";

const SLOW_MS = 5000;

/** Status counts and the latency of the accepted (200) answers of an open-loop run; `slow`: answers of any status slower than SLOW_MS. */
export function summarizeOpenLoop(result: OpenLoopResult) {
  const accepted = [...(result.latencies.get("200") ?? [])].sort((a, b) => a - b);
  const acceptedFromSend = [...(result.fromSend.get("200") ?? [])].sort((a, b) => a - b);
  const all = [...result.latencies.values()].flat();
  const other5xx = [...result.statuses].filter(([status]) => status.startsWith("5") && status !== "503").reduce((sum, [, n]) => sum + n, 0);
  const errors = [...result.statuses].filter(([status]) => status.startsWith("error:")).reduce((sum, [, n]) => sum + n, 0);
  return {
    statuses: Object.fromEntries([...result.statuses].sort()),
    accepted: accepted.length,
    p50: percentile(accepted, 50),
    p99: percentile(accepted, 99),
    max: accepted.at(-1) ?? Number.NaN,
    sendP99: percentile(acceptedFromSend, 99),
    sendMax: acceptedFromSend.at(-1) ?? Number.NaN,
    slow: all.filter((ms) => ms > SLOW_MS).length,
    other5xx,
    errors,
    lateStarts: result.lateStarts,
  };
}

export type OpenLoopSummary = ReturnType<typeof summarizeOpenLoop>;
