import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/client.js";
import { applyMigrations, pendingMigrationNames } from "./migrations.js";
import { withPostgresMigrationLock } from "./postgres-migration-lock.js";

export type Db = PrismaClient;

export interface Database {
  readonly prisma: Db;
  readonly kind: "pglite" | "postgres";
  /** The postgres:// URL it was opened with; null for PGlite. */
  readonly url: string | null;
  /** Names of the migrations this open applied (empty when the schema was current). */
  readonly appliedMigrations: string[];
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
}

export function pgliteDirectory(dataDir: string): string {
  return join(dataDir, "pglite");
}

// PostgreSQL may be shared by instances starting together; a PGlite directory has one owner (data-dir-lock.ts).
function migrate(databaseUrl: string | null, factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  return databaseUrl ? withPostgresMigrationLock(databaseUrl, applyMigrations) : applyMigrations(factory);
}

/**
 * Opens the database through the driver adapter that fits it; the same schema,
 * migrations and generated client serve both.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let factory: SqlMigrationAwareDriverAdapterFactory;
  let closeDriver: () => Promise<void>;
  if (options.databaseUrl) {
    factory = new PrismaPg({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    closeDriver = async () => {};
  } else {
    const pglite = options.pgliteDir ? new PGlite(options.pgliteDir) : new PGlite({ loadDataDir: options.pgliteDump });
    await pglite.waitReady;
    factory = new PrismaPGlite(pglite);
    closeDriver = () => pglite.close();
  }

  const prisma = new PrismaClient({ adapter: factory });
  try {
    // One query decides; the schema engine (slow to load) runs only when something is pending.
    const pending = options.migrate ? await pendingMigrationNames((sql) => prisma.$queryRawUnsafe(sql)) : [];
    const appliedMigrations = pending.length === 0 ? [] : await migrate(options.databaseUrl, factory);
    return {
      prisma,
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
