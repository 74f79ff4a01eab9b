import { generateSecret, generateURI, verify } from "otplib";
import QRCode from "qrcode";
import { open, seal } from "../crypto/secret-box.js";
import type { SecondFactorQueries, TotpClient } from "../db/second-factors.js";
import { assertThat, conflict } from "../errors.js";

/** RFC 6238 with the parameters every authenticator app supports: SHA-1, 6 digits, 30 s. */
const PERIOD_SECONDS = 30;
/** ±1 time step for clock drift (issue #4). */
const TOLERANCE_SECONDS = PERIOD_SECONDS;

export interface TotpEnrolment {
  /** Base32, to type in by hand. */
  secret: string;
  /** otpauth:// URI, the QR code's content. */
  uri: string;
  /** The QR code as a PNG data: URL, rendered server-side. */
  qrCode: string;
}

/** How long a started set-up waits for its first code (wrong codes may be retried with the same secret until then). */
export const ENROLMENT_SECONDS = 10 * 60;

const CODE_SHAPE = /^\d{6}$/;
export const looksLikeTotpCode = (code: string) => CODE_SHAPE.test(code);

/**
 * TOTP enrolment and checks. Secrets are sealed with the data key (AAD: the user id); each accepted
 * code's time step is stored, and that step or an older one is never accepted again.
 */
export function createTotpService(deps: { queries: SecondFactorQueries; dataKey: Buffer; issuerName: string; now?: () => number }) {
  const { queries, dataKey } = deps;
  const now = deps.now ?? (() => Date.now());
  const context = (userId: string) => `totp:${userId}`;

  /** The step the code belongs to, when it is valid now and newer than the last accepted one. */
  async function matchingStep(userId: string, code: string, secretEncrypted: string, lastUsedStep: number | null): Promise<number | null> {
    if (!looksLikeTotpCode(code)) return null;
    const result = await verify({
      secret: open(dataKey, secretEncrypted, context(userId)),
      token: code,
      epoch: Math.floor(now() / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      ...(lastUsedStep === null ? {} : { afterTimeStep: lastUsedStep }),
    });
    return result.valid && "timeStep" in result ? result.timeStep : null;
  }

  async function enrolmentOf(secret: string, email: string): Promise<TotpEnrolment> {
    const uri = generateURI({ issuer: deps.issuerName, label: email, secret, period: PERIOD_SECONDS });
    return { secret, uri, qrCode: await QRCode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, width: 220 }) };
  }

  const isPending = (factor: { confirmedAt: Date | null; createdAt: Date } | null) =>
    factor !== null && !factor.confirmedAt && now() < factor.createdAt.getTime() + ENROLMENT_SECONDS * 1000;

  return {
    async startEnrolment(user: { id: string; email: string }): Promise<TotpEnrolment> {
      const secret = generateSecret({ length: 20 });
      const stored = await queries.putPendingTotp(user.id, seal(dataKey, secret, context(user.id)), new Date(now()));
      assertThat(stored, () => conflict("mfa.totp_exists", "An authenticator app is already set up. Remove it first to set up another."));
      return enrolmentOf(secret, user.email);
    },

    /**
     * The set-up waiting for its first code, to show again after a wrong one: the same secret (read
     * back from its sealed copy; it never leaves the server otherwise). Null when none was started
     * or it expired.
     */
    async pendingEnrolment(user: { id: string; email: string }): Promise<TotpEnrolment | null> {
      const factor = await queries.findTotp(user.id);
      if (!factor || !isPending(factor)) return null;
      return enrolmentOf(open(dataKey, factor.secretEncrypted, context(user.id)), user.email);
    },

    /**
     * The first valid code within `ENROLMENT_SECONDS` of the start confirms the enrolment (and counts
     * as used). `commit` runs the confirmation inside the caller's transaction, together with what it
     * allows. Callers throttle the attempts (SecondFactorService.confirmTotpEnrolment).
     */
    async confirmEnrolment(
      userId: string,
      code: string,
      commit: (confirm: (client?: TotpClient) => Promise<boolean>) => Promise<boolean> = (confirm) => confirm(),
    ): Promise<boolean> {
      const factor = await queries.findTotp(userId);
      if (!factor || !isPending(factor)) return false;
      const step = await matchingStep(userId, code, factor.secretEncrypted, factor.lastUsedStep);
      return step !== null && (await commit((client) => queries.acceptTotpStep(userId, step, true, client, factor.secretEncrypted)));
    },

    /** A code from a confirmed authenticator, used at most once. */
    async verify(userId: string, code: string): Promise<boolean> {
      const factor = await queries.findTotp(userId);
      if (!factor?.confirmedAt) return false;
      const step = await matchingStep(userId, code, factor.secretEncrypted, factor.lastUsedStep);
      return step !== null && (await queries.acceptTotpStep(userId, step, false));
    },

    async isEnabled(userId: string): Promise<boolean> {
      return Boolean((await queries.findTotp(userId))?.confirmedAt);
    },

    remove: (userId: string) => queries.deleteTotp(userId),
  };
}

export type TotpService = ReturnType<typeof createTotpService>;
