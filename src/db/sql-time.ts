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

/** The same conversion for a statement run on the driver (hot-payloads.ts): `param` is a placeholder bound to epoch ms. */
export const utcTimestampOf = (param: string) => `(to_timestamp(${param}::double precision / 1000) AT TIME ZONE 'UTC')`;

/** A `timestamp(3)` column read back as epoch milliseconds (the column holds UTC), whatever the session time zone. */
export const epochMsOf = (column: string) => `(EXTRACT(EPOCH FROM ${column}) * 1000)::double precision`;
