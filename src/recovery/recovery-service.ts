import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { SecurityNotifier } from "../audit/security-notifier.js";
import type { SessionsEndedFollowUp } from "../auth/sign-out-everywhere.js";
import type { BackgroundTasks } from "../background-tasks.js";
import type { Config } from "../config.js";
import { linkTokenHash, newLinkToken } from "../crypto/link-token.js";
import type { PasswordHasher } from "../crypto/password.js";
import type { EmailLinkQueries, EmailLinkRow } from "../db/email-links.js";
import type { EndedSession } from "../db/oidc-payloads.js";
import type { MailThrottle } from "../db/rate-limits.js";
import type { RecoveryQueries } from "../db/recoveries.js";
import type { UserQueries, UserRow } from "../db/users.js";
import { assertThat, badRequest, notFound } from "../errors.js";
import type { RequestOrigin } from "../http/request-origin.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import type { Language } from "../i18n/languages.js";
import type { PageTexts } from "../i18n/page-text.js";
import type { Mailer } from "../mail/mailer.js";
import { recoveryLinkMail } from "../mail/messages.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import { normaliseEmail } from "../users/email.js";
import type { UserLanguage } from "../users/user-language.js";
import { assertPasswordPolicy } from "../users/user-service.js";
import { isUniqueViolation, type PasskeyService } from "../webauthn/passkey-service.js";

const passwordRefused = () => badRequest("recovery.passkey_only", "A password cannot be set here: add a new passkey instead.");
const unusable = () => badRequest("recovery.link_unusable", "This recovery link has expired or was already used. Ask for a new one on the sign-in page.");

// `from` as ISO 8601: each page and mail shows it in its reader's language and time zone.
const waiting = (from: Date) => badRequest("recovery.waiting", `This recovery link starts working at ${from.toUTCString()}.`, { from: from.toISOString() });

/** What a recovery link allows right now. */
export interface RecoveryState {
  link: EmailLinkRow;
  user: UserRow;
  /** The user has a code factor (authenticator app or backup codes): it must be passed first. */
  factorRequired: boolean;
  factorPassed: boolean;
  /** The operator's delay for users without a second factor: the link works from then on. */
  waitUntil: Date | null;
  /** Setting a password is offered only to accounts without a passkey (and under signUp.passwords "never" only to one that had a password). */
  passwordAllowed: boolean;
}

/**
 * "Lost your passkey?": a single-use mailed link (hashed, 15 minutes) that can only add a new
 * passkey (or set a password on an account without one), after the user's second factor or a
 * backup code when they have one; without either, after the operator's delay. Completing it signs
 * the account out everywhere, mails the owner and is recorded. It never removes a factor.
 * @throws AppError recovery.*, mfa.*, passkey.*, mail.throttled
 */
export function createRecoveryService(deps: {
  users: UserQueries;
  links: EmailLinkQueries;
  recoveries: RecoveryQueries;
  passkeys: PasskeyService;
  secondFactors: SecondFactorService;
  passwords: PasswordHasher;
  /** Device records, caches and back-channel logout for the sessions the recovery ended. */
  sessionsEnded: SessionsEndedFollowUp;
  events: SecurityEventLog;
  notify: SecurityNotifier;
  mailer: Mailer;
  mailThrottle: MailThrottle;
  tasks: BackgroundTasks;
  texts: Pick<PageTexts, "inLanguage">;
  userLanguage: Pick<UserLanguage, "of">;
  config: Pick<Config, "issuer" | "recovery" | "webauthn" | "branding" | "signUp">;
  now?: () => Date;
}) {
  const { users, links, config, events } = deps;
  const now = deps.now ?? (() => new Date());
  const site = config.branding.siteName;

  async function codeFactorOf(userId: string): Promise<boolean> {
    const factors = await deps.secondFactors.factorsOf(userId);
    return factors.totp || factors.backupCodes > 0;
  }

  /** `language`: the page's that asked for it; an operator's recovery speaks the user's. */
  async function issue(user: UserRow, byOperator: boolean, language: Language) {
    const { token, tokenHash } = newLinkToken();
    const delay = !(await codeFactorOf(user.id)) ? config.recovery.delaySeconds : 0;
    const start = now().getTime();
    const waitUntil = delay > 0 ? new Date(start + delay * 1000) : null;
    const expiresAt = new Date(start + (delay + config.recovery.linkSeconds) * 1000);
    await links.replaceLink({
      tokenHash,
      purpose: "recovery",
      email: user.email,
      userId: user.id,
      interactionUid: null,
      expiresAt,
      notBefore: waitUntil,
    });
    const link = `${config.issuer}/recover/verify?token=${token}`;
    const text = deps.texts.inLanguage(language);
    await deps.mailer.send({ to: user.email, ...recoveryLinkMail(text, site, link, config.recovery.linkSeconds, waitUntil, byOperator) });
    return { expiresAt, waitUntil };
  }

  async function state(token: unknown): Promise<RecoveryState> {
    const tokenHash = linkTokenHash(token);
    assertThat(tokenHash, unusable);
    const link = await links.findUsableLink(tokenHash, ["recovery"], now());
    assertThat(link, unusable);
    const user = await users.findUserById(link.userId);
    assertThat(user && !user.disabledAt, unusable);
    const factorRequired = await codeFactorOf(user.id);
    const passkeys = (await deps.secondFactors.factorsOf(user.id)).passkeys;
    return {
      link,
      user,
      factorRequired,
      factorPassed: link.factorVerifiedAt !== null,
      waitUntil: link.notBefore && link.notBefore > now() ? link.notBefore : null,
      // signUp.passwords "never": recovery does not give a passwordless account its first password.
      passwordAllowed: passkeys === 0 && (user.passwordHash !== null || config.signUp.passwords === "optional"),
    };
  }

  function assertReady(current: RecoveryState) {
    if (current.waitUntil) throw waiting(current.waitUntil);
    if (current.factorRequired && !current.factorPassed)
      throw badRequest("recovery.factor_required", "First enter a code from your authenticator app or a backup code.");
  }

  async function finish(current: RecoveryState, origin: RequestOrigin, language: Language, what: "passkey" | "password", ended: EndedSession[]) {
    await deps.sessionsEnded(current.user.id, ended);
    await deps.notify({
      userId: current.user.id,
      type: "recovery.completed",
      change: what === "passkey" ? "recoveredWithPasskey" : "recoveredWithPassword",
      language,
      origin,
      details: { added: what },
    });
  }

  return {
    /** Always the same answer; a link is mailed only when the account exists (after the answer, so timing says nothing either). */
    /**
     * `knownDevice`: this browser's device id when it signed in to the account before (its own mail allowance).
     * `language`: the page's, which the mail speaks.
     */
    async requestLink(rawEmail: string, origin: RequestOrigin, knownDevice: string | null, language: Language): Promise<string> {
      const email = normaliseEmail(rawEmail);
      await deps.mailThrottle.consume("recovery", email, origin.ip, knownDevice);
      deps.tasks.run("recovery mail", async () => {
        const user = await users.findUserByEmail(email);
        if (!user || user.disabledAt) return;
        await issue(user, false, language);
        await events.record({ type: "recovery.requested", outcome: "success", userId: user.id, ...origin });
      });
      return email;
    },

    /** For support: the CLI's `users recover`. Logged and mailed to the user, in their language, like any recovery. */
    async issueByOperator(rawEmail: string) {
      const email = normaliseEmail(rawEmail);
      const user = await users.findUserByEmail(email);
      assertThat(user, () => notFound("users.not_found", `no user with email ${email}`));
      assertThat(!user.disabledAt, () => badRequest("users.disabled", `user ${email} is disabled; enable it first`));
      const issued = await issue(user, true, deps.userLanguage.of(user));
      await events.record({ type: "recovery.issued_by_operator", outcome: "success", userId: user.id });
      return { email, ...issued };
    },

    state,

    async verifyFactor(token: unknown, code: string, origin: RequestOrigin): Promise<void> {
      const current = await state(token);
      if (current.waitUntil) throw waiting(current.waitUntil);
      await deps.secondFactors.verifyCode(current.user.id, code, origin);
      await links.markFactorVerified(current.link.tokenHash, now());
    },

    async registrationOptions(token: unknown) {
      const current = await state(token);
      assertReady(current);
      return deps.passkeys.registrationOptions(`recovery:${current.link.tokenHash}`, current.user);
    },

    async completeWithPasskey(token: unknown, response: unknown, origin: RequestOrigin, language: Language): Promise<void> {
      const current = await state(token);
      assertReady(current);
      const passkey = await deps.passkeys.verifyRegistration(
        `recovery:${current.link.tokenHash}`,
        current.user.id,
        response,
        defaultPasskeyName(origin.userAgent),
      );
      let ended: EndedSession[] | null | "password_refused";
      try {
        ended = await deps.recoveries.completeRecovery({
          tokenHash: current.link.tokenHash,
          userId: current.user.id,
          now: now(),
          factorRequired: current.factorRequired,
          credential: passkey.credential,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw badRequest("passkey.already_registered", "This passkey is already registered to an account.");
        throw error;
      }
      // No password in this completion: the only refusal is a used or expired link.
      assertThat(ended && ended !== "password_refused", unusable);
      await finish(current, origin, language, "passkey", ended);
    },

    async completeWithPassword(token: unknown, password: string, origin: RequestOrigin, language: Language): Promise<void> {
      const current = await state(token);
      assertReady(current);
      assertThat(current.passwordAllowed, passwordRefused);
      assertPasswordPolicy(password);
      const passwordHash = await deps.passwords.hash(password);
      const ended = await deps.recoveries.completeRecovery({
        tokenHash: current.link.tokenHash,
        userId: current.user.id,
        now: now(),
        factorRequired: current.factorRequired,
        password: { hash: passwordHash, allowFirst: config.signUp.passwords === "optional" },
      });
      assertThat(ended !== "password_refused", passwordRefused);
      assertThat(ended, unusable);
      await finish(current, origin, language, "password", ended);
    },

    /** "Not you?": anyone holding the link may stop it. */
    async cancel(token: unknown, origin: RequestOrigin, language: Language): Promise<void> {
      const current = await state(token);
      await links.cancelLink(current.link.tokenHash, now());
      await deps.notify({ userId: current.user.id, type: "recovery.cancelled", change: "recoveryCancelled", language, origin });
    },
  };
}

export type RecoveryService = ReturnType<typeof createRecoveryService>;
