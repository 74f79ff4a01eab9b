import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Database, openDatabase } from "../../src/db/open-database.js";

export type DatabaseKind = "pglite" | "postgres";

/** PGlite always; PostgreSQL too when TEST_POSTGRES_URL points at a server (CI starts one). */
export const DATABASE_KINDS: DatabaseKind[] = process.env.TEST_POSTGRES_URL ? ["pglite", "postgres"] : ["pglite"];

/** A freshly migrated, empty database: in-memory PGlite, or a new PostgreSQL database (its `url` set) dropped on close. */
export async function openTestDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === "pglite") return openDatabase({ databaseUrl: null, pgliteDir: null, migrate: true });

  const adminUrl = process.env.TEST_POSTGRES_URL as string;
  const name = `idp_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), pgliteDir: null, migrate: true });
  return {
    ...database,
    url: url.toString(),
    async close() {
      await database.close();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}
