import { Prisma } from "./generated/client.js";

/**
 * A `timestamp(3)` column value from a JS time: epoch milliseconds in, read as UTC, so no driver
 * or session time zone can shift it.
 */
export function utcTimestamp(date: Date | number | null): Prisma.Sql {
  if (date === null) return Prisma.sql`NULL`;
  const ms = typeof date === "number" ? date : date.getTime();
  return Prisma.sql`(to_timestamp(${ms}::double precision / 1000) AT TIME ZONE 'UTC')`;
}
