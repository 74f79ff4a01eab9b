import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type SecurityEventRow = Prisma.SecurityEventGetPayload<object>;

export interface SecurityEventInput {
  type: string;
  outcome: "success" | "failure" | "refused";
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

export function createSecurityEventQueries(db: Db) {
  return {
    insertSecurityEvent: (event: SecurityEventInput) =>
      db.securityEvent.create({
        data: {
          type: event.type,
          outcome: event.outcome,
          userId: event.userId ?? null,
          ip: event.ip ?? null,
          userAgent: event.userAgent ?? null,
          details: event.details ?? undefined,
        },
      }),
    /** Newest first, filtered by user, type prefix (e.g. "mfa." or "sign_in") and time. */
    querySecurityEvents: (filter: { userId?: string; typePrefix?: string; since?: Date; limit: number; offset?: number }) =>
      db.securityEvent.findMany({
        where: {
          ...(filter.userId ? { userId: filter.userId } : {}),
          ...(filter.typePrefix ? { type: { startsWith: filter.typePrefix } } : {}),
          ...(filter.since ? { createdAt: { gte: filter.since } } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        skip: filter.offset ?? 0,
        take: filter.limit,
      }),
    /** How many events of each type starting with `typePrefix` since `since`. */
    countSecurityEventsByType: async (typePrefix: string, since: Date): Promise<Record<string, number>> =>
      Object.fromEntries(
        (await db.securityEvent.groupBy({ by: ["type"], where: { type: { startsWith: typePrefix }, createdAt: { gte: since } }, _count: { _all: true } })).map(
          (row) => [row.type, row._count._all],
        ),
      ),
    deleteSecurityEventsBefore: async (cutoff: Date) => (await db.securityEvent.deleteMany({ where: { createdAt: { lt: cutoff } } })).count,
    listSecurityEventsOfUser: (userId: string, limit: number) => db.securityEvent.findMany({ where: { userId }, orderBy: { createdAt: "desc" }, take: limit }),
    /** Where the account's latest successful sign-ins came from (what a new one is compared with). */
    listSignInOriginsOfUser: (userId: string, limit: number) =>
      db.securityEvent.findMany({
        where: { userId, type: "sign_in", outcome: "success" },
        orderBy: { createdAt: "desc" },
        take: limit,
        select: { ip: true, userAgent: true },
      }),
  };
}

export type SecurityEventQueries = ReturnType<typeof createSecurityEventQueries>;
