import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PROJECT_ROOT } from "../paths.js";

// Loaded only when there is something to migrate or diff: most opens find the schema current.
const openSchemaEngine = async (factory: SqlMigrationAwareDriverAdapterFactory) => (await import("./schema-engine.js")).openSchemaEngine(factory);

export const SCHEMA_PATH = join(PROJECT_ROOT, "prisma/schema.prisma");
export const MIGRATIONS_DIR = join(PROJECT_ROOT, "prisma/migrations");

/** The migrations folder in the shape the schema engine reads (the same `prisma migrate deploy` reads). */
export function readMigrationsList(migrationsDir = MIGRATIONS_DIR) {
  const lockPath = join(migrationsDir, "migration_lock.toml");
  const directories = existsSync(migrationsDir)
    ? readdirSync(migrationsDir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
    : [];
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: directories.map((name) => {
      const file = join(migrationsDir, name, "migration.sql");
      return {
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: existsSync(file) ? { tag: "ok" as const, value: readFileSync(file, "utf8") } : { tag: "error" as const, value: `${file} is missing` },
        },
      };
    }),
  };
}

/** Migration folders not yet recorded as finished in `_prisma_migrations` (all of them on an empty database). */
export async function pendingMigrationNames(query: (sql: string) => Promise<{ migration_name: string }[]>): Promise<string[]> {
  const all = readMigrationsList().migrationDirectories.map((directory) => directory.path);
  let applied: Set<string>;
  try {
    applied = new Set((await query("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL")).map((row) => row.migration_name));
  } catch {
    return all;
  }
  return all.filter((name) => !applied.has(name));
}

/** Applies every pending migration; returns the names applied (empty when up to date). */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const engine = await openSchemaEngine(adapterFactory);
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: readMigrationsList(),
      filters: { externalTables: [], externalEnums: [] },
    });
    return appliedMigrationNames;
  } finally {
    engine.free();
  }
}

/**
 * The SQL that takes the database described by the migrations folder to the schema,
 * computed on a shadow database the adapter provides. Empty when nothing changed.
 */
export async function diffSchemaAgainstMigrations(shadowFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string> {
  const engine = await openSchemaEngine(shadowFactory);
  try {
    const list = readMigrationsList();
    const from = list.migrationDirectories.length > 0 ? { tag: "migrations" as const, ...list } : { tag: "empty" as const };
    const { stdout } = await engine.diff({
      from,
      to: { tag: "schemaDatamodel", files: [{ path: SCHEMA_PATH, content: readFileSync(SCHEMA_PATH, "utf8") }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return (stdout ?? "").trim();
  } finally {
    engine.free();
  }
}
