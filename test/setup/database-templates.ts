import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { applyMigrations } from "../../src/db/migrations.js";
import { openDatabase } from "../../src/db/open-database.js";
import { createPostgresDatabase } from "../helpers/test-database.js";

/**
 * vitest global set-up: migrates one PGlite and one PostgreSQL database per run, through the same
 * schema engine production uses; every suite then starts from a copy (test-database.ts) instead of
 * paying for initdb and the migrations again. The workers inherit the locations through the environment.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const directory = mkdtempSync(join(tmpdir(), "idp-templates-"));
  const pglite = new PGlite();
  try {
    await applyMigrations(new PrismaPGlite(pglite));
    const dump = await pglite.dumpDataDir("none");
    const dumpPath = join(directory, "pglite.tar");
    writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
    process.env.TEST_PGLITE_TEMPLATE = dumpPath;
    // The same, as the directory a server or CLI process opens under DATA_DIR.
    const onDisk = new PGlite(join(directory, "pglite"), { loadDataDir: dump });
    await onDisk.close();
    process.env.TEST_PGLITE_TEMPLATE_DIR = join(directory, "pglite");
  } finally {
    await pglite.close();
  }

  let dropPostgresTemplate = async () => {};
  if (process.env.TEST_POSTGRES_URL) {
    const template = await createPostgresDatabase({ prefix: "idp_template" });
    const database = await openDatabase({ databaseUrl: template.url, pgliteDir: null, migrate: true, poolSize: 1 });
    await database.close();
    process.env.TEST_POSTGRES_TEMPLATE = template.name;
    dropPostgresTemplate = template.drop;
  }

  return async () => {
    await dropPostgresTemplate();
    rmSync(directory, { recursive: true, force: true });
  };
}
