// The CPU a target spends: its whole process tree (tsx runs it in a child node process) and, on
// PostgreSQL, the backends serving it (its connections are named through PGAPPNAME), from /proc.
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { processTreeCpuMs } from "./cpu.js";

async function backendPids(postgresUrl: string | undefined, appName: string): Promise<number[]> {
  if (!postgresUrl) return [];
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [appName]);
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

export interface ServerCpu {
  idp: number;
  /** Backend pid → its CPU ms. */
  db: Map<number, number>;
}

/** CPU (ms) of the target's process tree and of its database backends so far. */
export async function serverCpu(child: ChildProcess, postgresUrl: string | undefined, appName: string): Promise<ServerCpu> {
  const db = new Map<number, number>();
  for (const pid of await backendPids(postgresUrl, appName)) db.set(pid, processTreeCpuMs(pid));
  return { idp: processTreeCpuMs(child.pid as number), db };
}

/** CPU ms spent between two readings; a backend that appeared meanwhile counts from zero (its connection set-up included). */
export function cpuSpent(before: ServerCpu, after: ServerCpu): { idpMs: number; dbMs: number } {
  let dbMs = 0;
  for (const [pid, ms] of after.db) dbMs += ms - (before.db.get(pid) ?? 0);
  return { idpMs: after.idp - before.idp, dbMs };
}
