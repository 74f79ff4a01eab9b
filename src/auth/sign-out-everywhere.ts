import type { OidcPayloadQueries } from "../db/oidc-payloads.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";
import type { Invalidator } from "../oidc/payload-invalidation.js";

/**
 * Ends every IdP session of an account and revokes every grant, code and token issued to it; with
 * `exceptSessionUid`, every session but that one, and what was issued through them.
 */
export function createSignOutEverywhere(deps: { oidcPayloads: OidcPayloadQueries; sessionDevices: SessionDeviceQueries; invalidate: Invalidator }) {
  return async (userId: string, exceptSessionUid?: string): Promise<number> => {
    const removed = exceptSessionUid
      ? await deps.oidcPayloads.deleteOtherSessionsOfAccount(userId, exceptSessionUid)
      : await deps.oidcPayloads.deleteEverythingOfAccount(userId);
    await deps.sessionDevices.deleteSessionDevicesOfUser(userId, exceptSessionUid);
    // Other processes drop what they cached (a session or token read before the delete).
    await deps.invalidate({ accountId: userId });
    return removed;
  };
}

export type SignOutEverywhere = ReturnType<typeof createSignOutEverywhere>;
