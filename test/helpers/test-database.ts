import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Database, openDatabase } from "../../src/db/open-database.js";

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

/** A new, empty (unmigrated) PostgreSQL database on TEST_POSTGRES_URL's server. */
export async function createEmptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `idp_test_${randomBytes(6).toString("hex")}`;
  await onAdminConnection((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(process.env.TEST_POSTGRES_URL as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onAdminConnection((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** A freshly migrated, empty database: in-memory PGlite, or a new PostgreSQL database (its `url` set) dropped on close. */
export async function openTestDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === "pglite") return openDatabase({ databaseUrl: null, pgliteDir: null, migrate: true });

  const empty = await createEmptyPostgresDatabase();
  const database = await openDatabase({ databaseUrl: empty.url, pgliteDir: null, migrate: true });
  return {
    ...database,
    async close() {
      await database.close();
      await empty.drop();
    },
  };
}
