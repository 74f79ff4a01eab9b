import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/open-database.js";
import { openTestDatabase } from "../helpers/test-database.js";

const DURABILITY = ["fsync", "synchronous_commit", "full_page_writes", "wal_level", "wal_sync_method"];

async function settings(query: (sql: string) => Promise<{ name: string; setting: string; unit: string | null }[]>, names: string[]) {
  const rows = await query(`SELECT name, setting, unit FROM pg_settings WHERE name IN (${names.map((name) => `'${name}'`).join(", ")}) ORDER BY name`);
  return Object.fromEntries(rows.map((row) => [row.name, row.unit ? `${row.setting} ${row.unit}` : row.setting]));
}

// Issue #13: PostgreSQL's 128MB of shared buffers were resident in every idle embedded server.
describe("the embedded database's memory settings", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "idp-pglite-settings-"));
  let onDisk: Database;
  let inMemory: Database;
  let plain: PGlite;

  beforeAll(async () => {
    [onDisk, inMemory, plain] = await Promise.all([
      openDatabase({ databaseUrl: null, pgliteDir: join(dataDir, "pglite"), migrate: false }),
      openTestDatabase("pglite"),
      PGlite.create(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([onDisk?.close(), inMemory?.close(), plain?.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("uses 16MB of shared buffers on a DATA_DIR and in memory", async () => {
    for (const database of [onDisk, inMemory]) {
      // 2048 buffers of 8kB
      expect(await settings((sql) => database.prisma.$queryRawUnsafe(sql), ["shared_buffers"])).toEqual({ shared_buffers: "2048 8kB" });
    }
  });

  it("keeps PGlite's own durability settings", async () => {
    const expected = await settings(async (sql) => (await plain.query<{ name: string; setting: string; unit: string | null }>(sql)).rows, DURABILITY);
    expect(Object.keys(expected)).toHaveLength(DURABILITY.length);
    expect(await settings((sql) => onDisk.prisma.$queryRawUnsafe(sql), DURABILITY)).toEqual(expected);
  });
});
