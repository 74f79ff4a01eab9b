import type { Db } from "./open-database.js";
import { utcTimestamp } from "./sql-time.js";

/** A point taken from a fixed window: the window's count after it, and when that window ends. */
export interface Consumption {
  readonly key: string;
  readonly points: number;
  readonly windowEndsMs: number;
}

const windowEndOf = (row: { expire_ms: number | string }) => Math.round(Number(row.expire_ms));

/**
 * Fixed-window counters in `rate_limit` (the table rate-limiter-flexible's throttles use too; keys
 * are `prefix:hash`). Consuming is one atomic statement, so however many requests race, on however
 * many processes, each sees a distinct count: a caller checks the secret only when its own count
 * is within the allowance ("consume first"; a read-then-write lets a burst through).
 */
export function createRateLimitCounters(db: Db) {
  return {
    /** Adds a point to `key`, starting a new window when there is none or it has ended. */
    async consume(key: string, windowSeconds: number, now = Date.now()): Promise<Consumption> {
      const [row] = await db.$queryRaw<{ points: number; expire_ms: number | string }[]>`
        INSERT INTO "rate_limit" ("key", "points", "expire") VALUES (${key}, 1, ${utcTimestamp(now + windowSeconds * 1000)})
        ON CONFLICT ("key") DO UPDATE SET
          "points" = CASE WHEN "rate_limit"."expire" <= ${utcTimestamp(now)} THEN 1 ELSE "rate_limit"."points" + 1 END,
          "expire" = CASE WHEN "rate_limit"."expire" <= ${utcTimestamp(now)} THEN EXCLUDED."expire" ELSE "rate_limit"."expire" END
        RETURNING "points", extract(epoch FROM "expire") * 1000 AS expire_ms`;
      if (!row) throw new Error(`rate limit ${key}: the upsert returned no row`);
      return { key, points: row.points, windowEndsMs: windowEndOf(row) };
    },

    /** Gives a point back to the window it was taken from; nothing once that window has been replaced. */
    async refund(consumption: Consumption): Promise<void> {
      await db.$executeRaw`
        UPDATE "rate_limit" SET "points" = "points" - 1
        WHERE "key" = ${consumption.key} AND "points" > 0 AND abs(extract(epoch FROM "expire") * 1000 - ${consumption.windowEndsMs}) < 1`;
    },

    async clear(key: string): Promise<void> {
      await db.$executeRaw`DELETE FROM "rate_limit" WHERE "key" = ${key}`;
    },

    /** Points in the live windows of every key starting with `prefix`. */
    async sumByPrefix(prefix: string, now = Date.now()): Promise<number> {
      const [row] = await db.$queryRaw<{ total: number | bigint | null }[]>`
        SELECT COALESCE(SUM("points"), 0)::int AS total FROM "rate_limit"
        WHERE starts_with("key", ${prefix}) AND "expire" > ${utcTimestamp(now)}`;
      return Number(row?.total ?? 0);
    },
  };
}

export type RateLimitCounters = ReturnType<typeof createRateLimitCounters>;
