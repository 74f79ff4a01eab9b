import type Provider from "oidc-provider";
import type { SessionDeviceQueries } from "../db/session-devices.js";
import type { Logger } from "../logger.js";

/**
 * Every successful authorization (interactive or silent) is a use of the IdP session: record the
 * device and IP it came from. A failure to record is logged and never fails the sign-in.
 */
export function recordSessionActivity(provider: Provider, devices: SessionDeviceQueries, logger: Logger): void {
  provider.on("authorization.success", (ctx) => {
    const session = ctx.oidc.session;
    if (!session?.uid || !session.accountId) return;
    devices.recordSessionUse(session.uid, session.accountId, ctx.get("User-Agent"), ctx.ip, new Date()).catch((error: Error) => {
      logger.warn({ err: error }, "could not record session activity");
    });
  });
}
