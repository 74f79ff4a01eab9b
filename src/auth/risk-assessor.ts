import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { SignInThrottle } from "../db/rate-limits.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";
import type { UserQueries } from "../db/users.js";
import { deviceOf } from "../http/user-agent.js";
import { networkOf, riskScore } from "./risk.js";

interface Request {
  userId: string;
  userAgent: string;
  ip: string;
}

/**
 * Scores sign-ins and silent re-authentications from coarse signals and records every non-zero
 * score as a `risk.evaluated` security event. Above `threshold` a silent re-authentication must
 * pass a second factor or a fresh passkey check (see oidc/acr-policy.ts).
 */
export function createRiskAssessor(deps: {
  sessionDevices: SessionDeviceQueries;
  users: UserQueries;
  signInThrottle: SignInThrottle;
  events: SecurityEventLog;
  threshold: number;
}) {
  async function failuresOf(userId: string): Promise<number> {
    const user = await deps.users.findUserById(userId);
    return user ? deps.signInThrottle.failuresOf(user.email) : 0;
  }

  async function record(request: Request, context: string, signals: Parameters<typeof riskScore>[0]) {
    const { score, reasons } = riskScore(signals);
    if (score > 0) {
      await deps.events.record({
        type: "risk.evaluated",
        // Only a silent request is refused (sent to step up); a sign-in has passed its factors already.
        outcome: context === "silent" && score >= deps.threshold ? "refused" : "success",
        userId: request.userId,
        ip: request.ip,
        userAgent: request.userAgent,
        details: { context, score, threshold: deps.threshold, reasons: reasons.join(" ") },
      });
    }
    return score;
  }

  return {
    /** A request riding an existing session, compared with where that session was last used. True: ask again. */
    async silent(request: Request & { sessionUid: string }): Promise<boolean> {
      const seen = await deps.sessionDevices.findSessionDevice(request.sessionUid);
      if (!seen) return false;
      const score = await record(request, "silent", {
        newDevice: deviceOf(request.userAgent).name !== deviceOf(seen.lastUserAgent).name,
        newNetwork: networkOf(request.ip) !== networkOf(seen.lastIp),
        recentFailures: await failuresOf(request.userId),
      });
      return score >= deps.threshold;
    },

    /**
     * A completed sign-in, compared with the account's earlier ones (recorded for the activity list).
     * `newDevice`: a browser family the account has signed in from before never (not for a first sign-in).
     */
    async signIn(request: Request & { email: string }): Promise<{ score: number; newDevice: boolean }> {
      const earlier = await deps.events.signInOriginsOf(request.userId, 200);
      if (earlier.length === 0) return { score: 0, newDevice: false };
      const newDevice = !earlier.some((event) => deviceOf(event.userAgent ?? "").name === deviceOf(request.userAgent).name);
      const score = await record(request, "sign_in", {
        newDevice,
        newNetwork: !earlier.some((event) => event.ip !== null && networkOf(event.ip) === networkOf(request.ip)),
        recentFailures: await deps.signInThrottle.failuresOf(request.email),
      });
      return { score, newDevice };
    },
  };
}

export type RiskAssessor = ReturnType<typeof createRiskAssessor>;
