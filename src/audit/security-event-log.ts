import type { SecurityEventInput, SecurityEventQueries, SecurityEventRow } from "../db/security-events.js";
import type { Logger } from "../logger.js";
import { type Metrics, signInMethodOf } from "../observability/metrics.js";

/**
 * Security events go to the database (the user's activity list, operators' queries) and to the
 * log as one JSON line each (for log shippers). Callers pass no secrets: details are ids and counts.
 */
/** A security event as the CLI and the admin API show it. */
export const toSecurityEventView = (row: SecurityEventRow) => ({
  at: row.createdAt.toISOString(),
  type: row.type,
  outcome: row.outcome,
  user_id: row.userId,
  ip: row.ip,
  user_agent: row.userAgent,
  details: row.details,
});

export function createSecurityEventLog(queries: SecurityEventQueries, logger: Logger, metrics: Metrics) {
  function count(event: SecurityEventInput) {
    metrics.securityEvents.inc({ type: event.type, outcome: event.outcome });
    if (event.type === "sign_in") metrics.signIns.inc({ method: signInMethodOf(String(event.details?.amr ?? "").split(" ")), outcome: event.outcome });
    if (event.type === "mfa.locked_out") metrics.lockouts.inc({ kind: "second_factor" });
    if (event.type === "sign_in.locked_out") metrics.lockouts.inc({ kind: "password" });
    if (event.type === "risk.evaluated" && event.outcome === "refused") metrics.riskStepUps.inc();
  }

  return {
    async record(event: SecurityEventInput): Promise<void> {
      await queries.insertSecurityEvent(event);
      count(event);
      const line = { securityEvent: event.type, outcome: event.outcome, userId: event.userId ?? undefined, details: event.details };
      if (event.outcome === "success") logger.info(line, "security event");
      else logger.warn(line, "security event");
    },
    listForUser: (userId: string, limit = 50) => queries.listSecurityEventsOfUser(userId, limit),
    signInOriginsOf: (userId: string, limit: number) => queries.listSignInOriginsOfUser(userId, limit),
    query: queries.querySecurityEvents,
    countByType: queries.countSecurityEventsByType,
    /** Retention: the sweeper removes events older than `retention.securityEventDays`. */
    deleteOlderThan: queries.deleteSecurityEventsBefore,
  };
}

export type SecurityEventLog = ReturnType<typeof createSecurityEventLog>;
