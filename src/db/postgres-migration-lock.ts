import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";

// The key `prisma migrate` locks (https://pris.ly/d/migrate-advisory-locking), so instances
// starting together, and a `prisma migrate deploy` run elsewhere, migrate one at a time.
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/**
 * Runs `migrate` on one PostgreSQL session holding the migration advisory lock, waiting for it as
 * long as another process holds it; ending the session afterwards releases it. (The schema engine
 * takes the same lock itself, but through a pool: it gives up after 10 s and never unlocks.)
 */
export async function withPostgresMigrationLock<T>(databaseUrl: string, migrate: (factory: SqlMigrationAwareDriverAdapterFactory) => Promise<T>): Promise<T> {
  // One connection that never idles out, so the lock and every migration statement share a session.
  const session = new pg.Pool({ connectionString: databaseUrl, max: 1, idleTimeoutMillis: 0 });
  try {
    await session.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK_KEY]);
    return await migrate(new PrismaPg(session));
  } finally {
    await session.end();
  }
}
