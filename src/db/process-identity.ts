import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds a lock: enough to tell, later and from another process, whether that holder still runs. */
export interface ProcessIdentity {
  pid: number;
  /** Linux: start time in clock ticks since boot (/proc/<pid>/stat field 22); null elsewhere. */
  startTicks: number | null;
  /** Host, boot and PID namespace: a pid means something only where these are the same. */
  scope: string;
}

function readOrNull(read: () => string): string | null {
  try {
    return read();
  } catch {
    return null;
  }
}

function startTicksOf(pid: number | "self"): number | null {
  const stat = readOrNull(() => readFileSync(`/proc/${pid}/stat`, "utf8"));
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

function currentScope(): string {
  const bootId = readOrNull(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  const pidNamespace = readOrNull(() => readlinkSync("/proc/self/ns/pid"));
  return [hostname(), bootId ?? "", pidNamespace ?? ""].join("|");
}

export function currentProcessIdentity(): ProcessIdentity {
  return { pid: process.pid, startTicks: startTicksOf("self"), scope: currentScope() };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * True only when the process is certainly gone: its pid is free, or now belongs to a process that
 * started at another time (pid reuse). A holder in another container or on another host (a shared
 * volume) cannot be checked: false.
 */
export function isProcessGone(holder: ProcessIdentity): boolean {
  if (holder.scope !== currentScope() || !Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  if (!pidExists(holder.pid)) return true;
  if (holder.startTicks === null) return false;
  const startTicks = startTicksOf(holder.pid);
  return startTicks !== null && startTicks !== holder.startTicks;
}
