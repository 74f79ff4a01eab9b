import { describe, expect, it } from "vitest";
import { pendingMigrationNames, readMigrationsList } from "../../src/db/migrations.js";
import { DATABASE_KINDS, openTestDatabase } from "../helpers/test-database.js";

// The suite's speed rests on every database being a copy of the run's migrated template (issue #12).
describe.each(DATABASE_KINDS)("test databases (%s)", (kind) => {
  it("start from the migrated template: opening applies nothing and every migration is recorded", async () => {
    const database = await openTestDatabase(kind);
    try {
      expect(database.appliedMigrations).toEqual([]);
      expect(await pendingMigrationNames((sql) => database.prisma.$queryRawUnsafe(sql))).toEqual([]);
      const recorded = await database.prisma.$queryRawUnsafe<{ n: bigint }[]>("SELECT count(*) AS n FROM _prisma_migrations");
      expect(Number(recorded[0]?.n)).toBe(readMigrationsList().migrationDirectories.length);
    } finally {
      await database.close();
    }
  });

  it("are independent copies", async () => {
    const [first, second] = await Promise.all([openTestDatabase(kind), openTestDatabase(kind)]);
    try {
      await first.prisma.user.create({ data: { email: "only-in-first@example.com" } });
      expect(await second.prisma.user.count()).toBe(0);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
