// CPU time from /proc (Linux): a process's (all its threads) and the whole machine's, in ms.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // CLK_TCK is 100 on Linux

export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** CPU of a process and all its descendants (tsx runs the target in a child node process). */
export function processTreeCpuMs(pid: number): number {
  let total = 0;
  try {
    total = processCpuMs(pid);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean)) total += processTreeCpuMs(Number(child));
    }
  } catch {
    // Gone meanwhile: its time is lost to the figure (rare, and only at a process's end).
  }
  return total;
}

/** Busy and total CPU time of every core together since boot. */
export function machineCpuMs(): { busy: number; total: number } {
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = (readFileSync("/proc/stat", "utf8").split("\n")[0] as string).split(/\s+/).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy: busy * TICK_MS, total: (busy + (idle ?? 0) + (iowait ?? 0)) * TICK_MS };
}

export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU spent between `start()` and `stop()` by the server, this process and everything else. */
export function cpuMeter(serverPid: number) {
  const read = () => ({ server: processCpuMs(serverPid), own: ownCpuMs(), machine: machineCpuMs(), at: performance.now() });
  const before = read();
  return {
    stop() {
      const after = read();
      const seconds = (after.at - before.at) / 1000;
      const server = after.server - before.server;
      const own = after.own - before.own;
      const busy = after.machine.busy - before.machine.busy;
      return {
        seconds,
        serverMs: server,
        /** Cores (0–2 here) busy outside the server and the load generator: the database, other engineers. */
        otherCores: Math.max(0, busy - server - own) / 1000 / seconds,
        generatorCores: own / 1000 / seconds,
        serverCores: server / 1000 / seconds,
      };
    },
  };
}
