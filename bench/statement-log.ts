// SQL statements counted from PostgreSQL's own log (log_statement = all): what the server ran,
// whatever the client library did. Pure parsing here; bench/flows.ts reads the file.
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import pg from "pg";

export interface LoggedStatement {
  database: string;
  sql: string;
}

// Debian's log_line_prefix '%m [%p] %q%u@%d ': "2026-12-01 14:44:27.504 UTC [26628] idp_ci@idp_test_ab LOG:  statement: BEGIN".
const ENTRY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] (?:\S*@(\S*) )?([A-Z]+): {2}(.*)$/;
// Simple protocol ("statement: …") and the extended protocol's execute step ("execute <unnamed>: …", "execute s1: …").
const STATEMENT = /^(?:statement|execute [^:]+): ([\s\S]*)$/;

/** The statements of `database` in a piece of the log (whole entries; a multi-line statement continues on lines without the prefix). */
export function statementsIn(logText: string, database: string): LoggedStatement[] {
  const statements: LoggedStatement[] = [];
  let current: { database: string; level: string; message: string } | null = null;
  const flush = () => {
    const sql = current && current.level === "LOG" && current.database === database ? current.message.match(STATEMENT)?.[1] : undefined;
    if (current && sql !== undefined) statements.push({ database: current.database, sql: sql.trim() });
  };
  for (const line of logText.split("\n")) {
    const entry = line.match(ENTRY);
    if (entry) {
      flush();
      current = { database: entry[1] ?? "", level: entry[2] as string, message: entry[3] as string };
    } else if (current) {
      current.message += `\n${line}`;
    }
  }
  flush();
  return statements;
}

const unquote = (name: string) => (name.split(".").pop() as string).replaceAll('"', "");

/**
 * A statement's kind (INSERT, UPDATE, DELETE, SELECT, NOTIFY, BEGIN, COMMIT, …) and the tables it
 * names. A statement with data-modifying CTEs counts as its first write; a SELECT whose only work is
 * pg_notify as NOTIFY.
 */
export function classify(sql: string): { kind: string; tables: string[] } {
  // EXTRACT(EPOCH FROM col) names no table.
  const text = sql
    .replace(/\s+/g, " ")
    .replace(/\bEXTRACT\s*\(\s*\w+\s+FROM\b/gi, "EXTRACT(")
    .trim();
  const verb = (text.split(" ")[0] as string).toUpperCase();
  const writes = [...text.matchAll(/\b(INSERT INTO|UPDATE|DELETE FROM)\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)/gi)];
  const reads = [...text.matchAll(/\b(?:FROM|JOIN)\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)/gi)].map((m) => unquote(m[1] as string));
  const firstWrite = writes[0];
  if (verb === "WITH" && firstWrite) {
    const kind = (firstWrite[1]?.split(" ")[0] ?? "").toUpperCase();
    return { kind, tables: [...new Set(writes.map((m) => unquote(m[2] as string)))] };
  }
  if (["INSERT", "UPDATE", "DELETE"].includes(verb)) return { kind: verb, tables: [unquote(writes[0]?.[2] ?? "?")] };
  if (verb === "SELECT" && reads.length === 0 && /pg_notify\(/i.test(text)) return { kind: "NOTIFY", tables: [] };
  if (verb === "SELECT" || verb === "WITH") return { kind: "SELECT", tables: [...new Set(reads.filter((t) => !/^(unnest|generate_series)$/i.test(t)))] };
  return { kind: verb === "START" ? "BEGIN" : verb, tables: [] };
}

/** Counts by kind and by "KIND table, table", most frequent first. */
export function breakdown(statements: LoggedStatement[]): { byKind: [string, number][]; byKindAndTable: [string, number][] } {
  const count = (keys: string[]) => {
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  };
  const classified = statements.map((s) => classify(s.sql));
  return {
    byKind: count(classified.map((c) => c.kind)),
    byKindAndTable: count(classified.map((c) => (c.tables.length ? `${c.kind} ${c.tables.join(", ")}` : c.kind))),
  };
}

/**
 * The file the cluster logs to: BENCH_POSTGRES_LOG, else pg_current_logfile() (with the logging
 * collector), else the cluster on this port in pg_lsclusters (Debian's stderr log).
 */
export async function postgresLogFile(postgresUrl: string): Promise<string> {
  if (process.env.BENCH_POSTGRES_LOG) return process.env.BENCH_POSTGRES_LOG;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ file: string | null; dir: string; port: string }>(
      "SELECT pg_current_logfile() AS file, current_setting('data_directory') AS dir, current_setting('port') AS port",
    );
    const { file, dir, port } = rows[0] as { file: string | null; dir: string; port: string };
    if (file) return isAbsolute(file) ? file : join(dir, file);
    const cluster = execFileSync("pg_lsclusters", ["--no-header"], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .find((fields) => fields[2] === port);
    if (!cluster?.[6]) throw new Error(`no log file for the cluster on port ${port}: set BENCH_POSTGRES_LOG`);
    return cluster[6];
  } finally {
    await client.end();
  }
}

export const logSize = (file: string) => statSync(file).size;

/** The log's bytes from `from` to its current end. */
export function logSince(file: string, from: number): string {
  const length = logSize(file) - from;
  const buffer = Buffer.alloc(Math.max(0, length));
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, buffer.length, from);
  } finally {
    closeSync(fd);
  }
  return buffer.toString("utf8");
}
