import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type Database, openDatabase, pgliteDirectory } from "../../src/db/open-database.js";

export type DatabaseKind = "pglite" | "postgres";

/** PGlite always; PostgreSQL too when TEST_POSTGRES_URL points at a server (CI starts one). */
export const DATABASE_KINDS: DatabaseKind[] = process.env.TEST_POSTGRES_URL ? ["pglite", "postgres"] : ["pglite"];

async function onAdminConnection(run: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL as string });
  await admin.connect();
  try {
    await run(admin);
  } finally {
    await admin.end();
  }
}

export interface ScratchPostgresDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A new PostgreSQL database on TEST_POSTGRES_URL's server: empty (unmigrated), or a copy of `template`. */
export async function createPostgresDatabase(options: { prefix?: string; template?: string } = {}): Promise<ScratchPostgresDatabase> {
  const name = `${options.prefix ?? "idp_test"}_${randomBytes(6).toString("hex")}`;
  await onAdminConnection((admin) => admin.query(`CREATE DATABASE ${name}${options.template ? ` TEMPLATE ${options.template}` : ""}`));
  const url = new URL(process.env.TEST_POSTGRES_URL as string);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => onAdminConnection((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

// The migrated templates test/setup/database-templates.ts made for this run; absent outside vitest
// (the benchmarks), where each database is migrated as it opens.
let pgliteTemplate: Blob | undefined;
function pgliteTemplateDump(): Blob | undefined {
  const path = process.env.TEST_PGLITE_TEMPLATE;
  if (path) pgliteTemplate ??= new Blob([readFileSync(path)]);
  return pgliteTemplate;
}

/** A freshly migrated, empty database: in-memory PGlite, or a new PostgreSQL database (its `url` set) dropped on close. */
export async function openTestDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === "pglite") return openDatabase({ databaseUrl: null, pgliteDir: null, pgliteDump: pgliteTemplateDump(), migrate: true });

  const scratch = await createPostgresDatabase({ template: process.env.TEST_POSTGRES_TEMPLATE });
  const database = await openDatabase({ databaseUrl: scratch.url, pgliteDir: null, migrate: true });
  return {
    ...database,
    async close() {
      await database.close();
      await scratch.drop();
    },
  };
}

/**
 * A new DATA_DIR whose embedded database is already migrated (a copy of the run's template), for a
 * server or CLI process; an empty one when no template was made (a process then migrates it itself).
 */
export function seededDataDir(prefix = "idp-data-"): string {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const template = process.env.TEST_PGLITE_TEMPLATE_DIR;
  if (template) cpSync(template, pgliteDirectory(dataDir), { recursive: true });
  return dataDir;
}
