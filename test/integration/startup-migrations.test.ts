import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMigrationsList } from "../../src/db/migrations.js";
import { type Database, openDatabase } from "../../src/db/open-database.js";
import { createPostgresDatabase } from "../helpers/test-database.js";

const INSTANCES = 4;

// Issue #11 item 3: instances deployed together all migrate at start on one empty database.
describe.skipIf(!process.env.TEST_POSTGRES_URL)("start-up migrations on one PostgreSQL database", () => {
  let empty: Awaited<ReturnType<typeof createPostgresDatabase>>;
  const opened: Database[] = [];

  beforeAll(async () => {
    empty = await createPostgresDatabase();
  });
  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
    await empty?.drop();
  });

  it(`${INSTANCES} instances opening an empty database at once all succeed and apply each migration once`, async () => {
    const results = await Promise.allSettled(
      Array.from({ length: INSTANCES }, () => openDatabase({ databaseUrl: empty.url, pgliteDir: null, migrate: true, poolSize: 2 })),
    );
    for (const result of results) if (result.status === "fulfilled") opened.push(result.value);
    expect(results.filter((result) => result.status === "rejected").map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);

    const expected = readMigrationsList().migrationDirectories.map((directory) => directory.path);
    // Each migration applied by exactly one instance.
    expect(opened.flatMap((database) => database.appliedMigrations).sort()).toEqual(expected);

    const rows = await query<{ migration_name: string; finished: boolean }>(
      "SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name",
    );
    expect(rows).toEqual(expected.map((name) => ({ migration_name: name, finished: true })));
  });

  // A rolling upgrade: the next version's migration must not wait on a lock a running instance kept.
  it("leaves no migration lock held by the instances that keep running", async () => {
    expect(opened).toHaveLength(INSTANCES);
    expect(await query("SELECT objid FROM pg_locks WHERE locktype = 'advisory'")).toEqual([]);
  });

  async function query<T>(sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: empty.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  }
});
