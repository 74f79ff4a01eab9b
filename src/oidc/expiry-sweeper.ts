import type { Logger } from "../logger.js";
import type { Services } from "../services.js";

const DAY_MS = 86_400_000;

export interface SweepOptions {
  /** The longest a session can live: no device record needs to outlive it. */
  sessionMaxSeconds: number;
  retention: { securityEventDays: number; auditEventDays: number };
}

/**
 * Reclaims expired rows, signing keys past their grace period, and security and audit records
 * past their retention. Expiry is already enforced on every read; this only keeps the tables small.
 */
export async function sweepExpired(services: Services, options: SweepOptions, now = new Date()) {
  const { count } = await services.oidcPayloads.deleteExpired(now);
  await services.interactionState.deleteExpired(now);
  await services.signInSteps.deleteExpired(now);
  await services.signInThrottle.deleteExpired(now);
  await services.emailLinks.deleteExpired(now);
  await services.sessionDevices.deleteSessionDevicesNotSeenSince(new Date(now.getTime() - options.sessionMaxSeconds * 1000));
  const events = await services.events.deleteOlderThan(new Date(now.getTime() - options.retention.securityEventDays * DAY_MS));
  const audit = await services.audit.deleteOlderThan(new Date(now.getTime() - options.retention.auditEventDays * DAY_MS));
  const keys = await services.signingKeys.pruneRetired();
  return { expiredRows: count, securityEvents: events, auditEvents: audit, retiredKeys: keys };
}

/** `immediately`: a first sweep now, not only after the first interval. */
export function startExpirySweeper(services: Services, logger: Logger, intervalSeconds: number, options: SweepOptions, immediately = false): () => void {
  const sweep = async () => {
    try {
      const swept = await sweepExpired(services, options);
      if (Object.values(swept).some((n) => n > 0)) logger.info(swept, "swept expired data");
    } catch (error) {
      logger.warn({ err: error }, "expiry sweep failed; will retry");
    }
  };
  const timer = setInterval(sweep, intervalSeconds * 1000);
  timer.unref();
  if (immediately) void sweep();
  return () => clearInterval(timer);
}
