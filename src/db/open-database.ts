import { join } from "node:path";
import type { PGlite as PGliteType } from "@electric-sql/pglite";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaClient } from "./generated/client.js";
import { applyMigrations, pendingMigrationNames } from "./migrations.js";
import { openPGliteThread } from "./pglite-thread.js";
import { StatementObserver } from "./statement-observer.js";

export type Db = PrismaClient;

/**
 * The driver under Prisma, for the few statements of the token path (hot-payloads.ts): Prisma's
 * query compiler and its `$queryRaw` cost more CPU than the statement itself there (issue #13).
 */
export interface HotDriver {
  /** Runs `text` as a prepared statement (`name`: parsed once per connection on PostgreSQL). */
  query<R>(name: string, text: string, values: unknown[]): Promise<R[]>;
  /** True when NOTIFY reaches the other server processes (PostgreSQL); PGlite has one process. */
  readonly notifies: boolean;
}

export interface Database {
  readonly prisma: Db;
  readonly hot: HotDriver;
  readonly kind: "pglite" | "postgres";
  /** The postgres:// URL it was opened with; null for PGlite. */
  readonly url: string | null;
  /** Names of the migrations this open applied (empty when the schema was current). */
  readonly appliedMigrations: string[];
  /** Every statement sent through `prisma` and `hot` (migrations aside). */
  readonly statements: StatementObserver;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; null for the embedded PGlite. */
  readonly databaseUrl: string | null;
  /** Where PGlite keeps its files; null keeps it in memory (tests). The caller must hold the data-dir lock. */
  readonly pgliteDir: string | null;
  /** A PGlite data directory (`dumpDataDir`) to start the in-memory database from: tests copy one migrated template. */
  readonly pgliteDump?: Blob;
  /** Apply pending migrations before returning. */
  readonly migrate: boolean;
  readonly poolSize?: number;
  /**
   * Run PGlite on the caller's thread instead of a worker thread of its own (the CLI: one command
   * and no requests to keep answering, so the thread would only add its start-up).
   */
  readonly pgliteInline?: boolean;
  /** Called if PGlite's thread ends while open: every statement then fails, so the caller should stop. */
  readonly onPgliteThreadExit?: (error: Error) => void;
}

export function pgliteDirectory(dataDir: string): string {
  return join(dataDir, "pglite");
}

// PostgreSQL may be shared by instances starting together; a PGlite directory has one owner (data-dir-lock.ts).
async function migrate(databaseUrl: string | null, factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  if (!databaseUrl) return applyMigrations(factory);
  const { withPostgresMigrationLock } = await import("./postgres-migration-lock.js");
  return withPostgresMigrationLock(databaseUrl, applyMigrations);
}

// PostgreSQL's default shared_buffers (128MB) is sized for a server with its own memory; inside
// PGlite it is a block of the WebAssembly heap that Emscripten's mmap zero-fills at start, so all
// of it is resident from the first second (≈ 120 MiB of an idle server, issue #13). Our database
// is a few tens of MB and the operating system's page cache still holds its files, so 16MB of
// buffers keeps the hot pages. Durability is untouched: WAL, fsync and commit settings stay
// PGlite's own (PGlite.defaultStartParams, to which these are appended).
export const PGLITE_SETTINGS = ["shared_buffers=16MB"] as const;

// Only the driver in use is loaded: each operator command is a new process (issue #12), and
// PGlite alone takes longer to load than the whole PostgreSQL driver.
async function openDriver(options: OpenDatabaseOptions): Promise<{ factory: SqlMigrationAwareDriverAdapterFactory; hot: HotDriver; close(): Promise<void> }> {
  if (options.databaseUrl) {
    const [{ PrismaPg }, { default: pg }] = await Promise.all([import("@prisma/adapter-pg"), import("pg")]);
    // One pool for Prisma and the hot statements, so the pool size bounds the connections of both.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle connection the server ended (a restart, a dropped test database): the pool opens
    // another on demand, and a query in flight on it fails by itself; unheard, it would end the process.
    pool.on("error", () => {});
    const hot: HotDriver = {
      notifies: true,
      query: async <R>(name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows as R[],
    };
    return { factory: new PrismaPg(pool), hot, close: () => pool.end() };
  }
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import("@electric-sql/pglite"), import("pglite-prisma-adapter")]);
  const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((setting) => ["-c", setting])];
  const pglite = options.pgliteInline
    ? await openInline(PGlite, options, startParams)
    : await openPGliteThread({
        dataDir: options.pgliteDir,
        dump: options.pgliteDump,
        startParams,
        onExit: options.onPgliteThreadExit ?? (() => {}),
      });
  const hot: HotDriver = {
    notifies: false,
    query: async <R>(_name: string, text: string, values: unknown[]) => (await pglite.query<R>(text, values)).rows,
  };
  // The thread offers what the adapter calls on a PGlite: query (rowMode, parsers), exec, transaction.
  return { factory: new PrismaPGlite(pglite as PGliteType), hot, close: () => pglite.close() };
}

async function openInline(PGlite: typeof PGliteType, options: OpenDatabaseOptions, startParams: string[]): Promise<PGliteType> {
  const pglite = options.pgliteDir ? new PGlite(options.pgliteDir, { startParams }) : new PGlite({ loadDataDir: options.pgliteDump, startParams });
  await pglite.waitReady;
  return pglite;
}

/**
 * Opens the database through the driver adapter that fits it; the same schema,
 * migrations and generated client serve both.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { factory, hot, close: closeDriver } = await openDriver(options);
  const statements = new StatementObserver();
  const prisma = new PrismaClient({ adapter: statements.observeFactory(factory) });
  try {
    // One query decides; the schema engine (slow to load) runs only when something is pending.
    const pending = options.migrate ? await pendingMigrationNames((sql) => prisma.$queryRawUnsafe(sql)) : [];
    const appliedMigrations = pending.length === 0 ? [] : await migrate(options.databaseUrl, factory);
    return {
      prisma,
      hot: statements.observeHot(hot),
      statements,
      kind: options.databaseUrl ? "postgres" : "pglite",
      url: options.databaseUrl,
      appliedMigrations,
      async close() {
        await prisma.$disconnect();
        await closeDriver();
      },
    };
  } catch (error) {
    await prisma.$disconnect();
    await closeDriver();
    throw error;
  }
}
