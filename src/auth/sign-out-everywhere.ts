import type { EndedSession, OidcPayloadQueries } from "../db/oidc-payloads.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";
import type { Invalidator } from "../oidc/payload-invalidation.js";
import type { RelyingPartyLogout } from "./relying-party-logout.js";

interface SignOutDependencies {
  oidcPayloads: OidcPayloadQueries;
  sessionDevices: SessionDeviceQueries;
  invalidate: Invalidator;
  relyingPartyLogout: RelyingPartyLogout;
}

/**
 * What follows the deletion of sessions, wherever it happened (here, or inside a recovery's
 * transaction): their device records go, other processes drop what they cached, and the relying
 * parties the sessions signed in to are told (back-channel logout).
 */
export function createSessionsEndedFollowUp(deps: SignOutDependencies) {
  return async (userId: string, sessions: readonly EndedSession[], exceptSessionUid?: string): Promise<void> => {
    await deps.sessionDevices.deleteSessionDevicesOfUser(userId, exceptSessionUid);
    // Other processes drop what they cached (a session or token read before the delete).
    await deps.invalidate({ accountId: userId });
    deps.relyingPartyLogout.sessionsEnded(userId, sessions);
  };
}

/**
 * Ends every IdP session of an account and revokes every grant, code and token issued to it; with
 * `exceptSessionUid`, every session but that one, and the grants and tokens issued through them.
 */
export function createSignOutEverywhere(deps: SignOutDependencies) {
  const followUp = createSessionsEndedFollowUp(deps);
  return async (userId: string, exceptSessionUid?: string): Promise<number> => {
    let removed: number;
    let sessions: EndedSession[];
    if (exceptSessionUid) {
      sessions = await deps.oidcPayloads.endSessionsOfAccount(userId, { except: exceptSessionUid });
      removed = sessions.length;
    } else {
      ({ removed, sessions } = await deps.oidcPayloads.deleteEverythingOfAccount(userId));
    }
    await followUp(userId, sessions, exceptSessionUid);
    return removed;
  };
}

/** Ends one session of an account and revokes the grants and tokens issued through it; false when it was not theirs or already gone. */
export function createSignOutSession(deps: SignOutDependencies) {
  return async (userId: string, sessionUid: string): Promise<boolean> => {
    const ended = await deps.oidcPayloads.endSessionsOfAccount(userId, { only: sessionUid });
    if (ended.length === 0) return false;
    await deps.sessionDevices.deleteSessionDevice(userId, sessionUid);
    await deps.invalidate({ accountId: userId });
    deps.relyingPartyLogout.sessionsEnded(userId, ended);
    return true;
  };
}

export type SignOutEverywhere = ReturnType<typeof createSignOutEverywhere>;
export type SignOutSession = ReturnType<typeof createSignOutSession>;
export type SessionsEndedFollowUp = ReturnType<typeof createSessionsEndedFollowUp>;
