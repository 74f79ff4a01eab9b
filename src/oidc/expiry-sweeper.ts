import type { Logger } from "../logger.js";
import type { Services } from "../services.js";

/**
 * Reclaims expired rows and signing keys past their grace period. Expiry is already
 * enforced on every read; this only keeps the tables small.
 */
export function startExpirySweeper(services: Services, logger: Logger, intervalSeconds: number, sessionMaxSeconds: number): () => void {
  const sweep = async () => {
    try {
      const { count } = await services.oidcPayloads.deleteExpired(new Date());
      await services.interactionState.deleteExpired(new Date());
      await services.signInThrottle.deleteExpired(new Date());
      await services.emailLinks.deleteExpired(new Date());
      // No session outlives its longest lifetime, so neither does its device record.
      await services.sessionDevices.deleteSessionDevicesNotSeenSince(new Date(Date.now() - sessionMaxSeconds * 1000));
      const keys = await services.signingKeys.pruneRetired();
      if (count > 0 || keys > 0) logger.info({ expiredRows: count, retiredKeys: keys }, "swept expired data");
    } catch (error) {
      logger.warn({ err: error }, "expiry sweep failed; will retry");
    }
  };
  const timer = setInterval(sweep, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
