import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type AuditEventRow = Prisma.AuditEventGetPayload<object>;

export interface AuditEventInput {
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  before: Prisma.InputJsonValue | null;
  after: Prisma.InputJsonValue | null;
  ip: string | null;
}

export interface AuditFilter {
  actor?: string;
  /** e.g. "client." or "user.disabled". */
  actionPrefix?: string;
  targetId?: string;
  since?: Date;
  limit: number;
  /** Skips that many of the newest (a page further on). */
  offset?: number;
}

export function createAuditEventQueries(db: Db) {
  return {
    insertAuditEvent: (event: AuditEventInput) =>
      db.auditEvent.create({ data: { ...event, before: event.before ?? undefined, after: event.after ?? undefined } }),
    deleteAuditEventsBefore: async (cutoff: Date) => (await db.auditEvent.deleteMany({ where: { createdAt: { lt: cutoff } } })).count,
    /** Newest first. */
    queryAuditEvents: (filter: AuditFilter) =>
      db.auditEvent.findMany({
        where: {
          ...(filter.actor ? { actor: filter.actor } : {}),
          ...(filter.actionPrefix ? { action: { startsWith: filter.actionPrefix } } : {}),
          ...(filter.targetId ? { targetId: filter.targetId } : {}),
          ...(filter.since ? { createdAt: { gte: filter.since } } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        skip: filter.offset ?? 0,
        take: filter.limit,
      }),
  };
}

export type AuditEventQueries = ReturnType<typeof createAuditEventQueries>;
