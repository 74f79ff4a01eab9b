import type { AuditEventQueries, AuditEventRow, AuditFilter } from "../db/audit-events.js";
import type { Prisma } from "../db/generated/client.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../observability/metrics.js";

/** Who did it: "client:<id>" for the admin API, "cli:<os user>" for the CLI; and from where. */
export interface Actor {
  actor: string;
  ip: string | null;
}

export interface AuditEntry {
  action: string;
  targetType: "client" | "user" | "group";
  targetId: string | null;
  before?: object | null;
  after?: object | null;
}

export interface AuditEventView {
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  before: unknown;
  after: unknown;
}

export const toAuditEventView = (row: AuditEventRow): AuditEventView => ({
  at: row.createdAt.toISOString(),
  actor: row.actor,
  action: row.action,
  target_type: row.targetType,
  target_id: row.targetId,
  ip: row.ip,
  before: row.before,
  after: row.after,
});

/**
 * The operators' audit trail: every change made through the admin API or the CLI, with who, what,
 * when, from where, and the target before and after (never a secret: callers pass views). Also one
 * JSON log line each, for log shippers.
 */
export function createAuditLog(queries: AuditEventQueries, logger: Logger, metrics: Metrics) {
  return {
    async record(by: Actor, entry: AuditEntry): Promise<void> {
      const event = {
        actor: by.actor,
        ip: by.ip,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        before: (entry.before ?? null) as Prisma.InputJsonValue | null,
        after: (entry.after ?? null) as Prisma.InputJsonValue | null,
      };
      // The change has already happened: the log line goes first, so a failed insert still leaves a trace.
      const line = { auditEvent: entry.action, actor: by.actor, targetType: entry.targetType, targetId: entry.targetId, ip: by.ip };
      logger.info(line, "audit event");
      metrics.adminChanges.inc({ action: entry.action });
      try {
        await queries.insertAuditEvent(event);
      } catch (error) {
        logger.error({ ...line, err: error }, "audit record could not be stored");
        throw error;
      }
    },
    query: async (filter: AuditFilter) => (await queries.queryAuditEvents(filter)).map(toAuditEventView),
    /** Retention: the sweeper removes records older than `retention.auditEventDays`. */
    deleteOlderThan: queries.deleteAuditEventsBefore,
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
