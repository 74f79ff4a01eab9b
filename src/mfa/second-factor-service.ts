import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { SecondFactorThrottle } from "../db/rate-limits.js";
import { AppError, badRequest } from "../errors.js";
import type { RequestOrigin } from "../http/request-origin.js";
import { type BackupCodeService, looksLikeBackupCode } from "./backup-codes.js";
import { looksLikeTotpCode, type TotpService } from "./totp.js";

export interface SecondFactors {
  totp: boolean;
  /** WebAuthn credentials (passkeys, security keys): each also serves as a second factor. */
  passkeys: number;
  backupCodes: number;
}

export const hasSecondFactor = (factors: SecondFactors) => factors.totp || factors.passkeys > 0 || factors.backupCodes > 0;

const wrongCode = () => badRequest("mfa.wrong_code", "That code is not valid. Check it and try again, or use another way.");

/**
 * The codes people type as a second factor: a TOTP code or a backup code. Every code takes a point
 * of the account's allowance before it is checked (shared by every process; a right code clears
 * the count); wrong codes are recorded as security events.
 * @throws AppError mfa.throttled (429), mfa.wrong_code (400)
 */
export function createSecondFactorService(deps: {
  totp: TotpService;
  backupCodes: BackupCodeService;
  countFactors: (userId: string) => Promise<SecondFactors>;
  throttle: SecondFactorThrottle;
  events: SecurityEventLog;
  /** Each code actually verified (for the metrics: what the throttle must bound). */
  codeChecked: (kind: "totp" | "backup_code") => void;
}) {
  const { totp, backupCodes, throttle, events } = deps;

  /** Takes a point of the account's allowance before a code is checked; a refusal is recorded. */
  async function consumeAllowance(userId: string, origin: RequestOrigin) {
    try {
      // Before the code is checked: a burst of guesses checks at most the allowance (issue #10).
      await throttle.consume(userId);
    } catch (error) {
      if (error instanceof AppError) await events.record({ type: "mfa.locked_out", outcome: "refused", userId, ...origin });
      throw error;
    }
  }

  return {
    factorsOf: (userId: string): Promise<SecondFactors> => deps.countFactors(userId),

    /**
     * The first code of an authenticator app being set up, counted against the same allowance as
     * every other code (a wrong one may be retried with the same secret, so the retries are bounded).
     * `commit` as for TotpService.confirmEnrolment. True when the set-up is confirmed.
     * @throws AppError mfa.throttled (429)
     */
    async confirmTotpEnrolment(
      userId: string,
      rawCode: string,
      origin: RequestOrigin,
      commit?: Parameters<TotpService["confirmEnrolment"]>[2],
    ): Promise<boolean> {
      const code = rawCode.trim().replace(/\s/g, "");
      await consumeAllowance(userId, origin);
      if (looksLikeTotpCode(code)) deps.codeChecked("totp");
      const confirmed = await totp.confirmEnrolment(userId, code, commit);
      // Clearing the count is safe here: setting up needs every existing factor verified first.
      if (confirmed) await throttle.recordSuccess(userId);
      return confirmed;
    },

    /** Checks a typed code; returns what it proved (RFC 8176 `otp` for both kinds). */
    async verifyCode(userId: string, rawCode: string, origin: RequestOrigin): Promise<{ amr: string[]; kind: "totp" | "backup_code" }> {
      const code = rawCode.trim().replace(/\s/g, "");
      await consumeAllowance(userId, origin);
      const kind = looksLikeTotpCode(code) ? "totp" : looksLikeBackupCode(code) ? "backup_code" : null;
      if (kind) deps.codeChecked(kind);
      const ok = kind === "totp" ? await totp.verify(userId, code) : kind === "backup_code" ? await backupCodes.use(userId, code) : false;
      if (!ok || !kind) {
        await events.record({ type: `mfa.${kind ?? "code"}`, outcome: "failure", userId, ...origin });
        throw wrongCode();
      }
      await throttle.recordSuccess(userId);
      const details = kind === "backup_code" ? { remaining: await backupCodes.remaining(userId) } : undefined;
      await events.record({ type: `mfa.${kind}`, outcome: "success", userId, ...origin, details });
      return { amr: ["otp"], kind };
    },
  };
}

export type SecondFactorService = ReturnType<typeof createSecondFactorService>;
