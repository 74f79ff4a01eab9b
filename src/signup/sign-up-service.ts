import { randomUUID } from "node:crypto";
import type { BackgroundTasks } from "../background-tasks.js";
import type { Config } from "../config.js";
import { linkTokenHash, newLinkToken } from "../crypto/link-token.js";
import type { EmailLinkPurpose, EmailLinkQueries } from "../db/email-links.js";
import type { MailThrottle } from "../db/rate-limits.js";
import type { SignUpQueries } from "../db/sign-ups.js";
import type { UserQueries } from "../db/users.js";
import { assertThat, badRequest, conflict, notFound } from "../errors.js";
import type { Language } from "../i18n/languages.js";
import type { PageTexts } from "../i18n/page-text.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { accountExistsMail, invitationMail, signUpLinkMail } from "../mail/messages.js";
import { normaliseEmail } from "../users/email.js";
import { isUniqueViolation, type PasskeyService } from "../webauthn/passkey-service.js";

const LINK_PURPOSES: EmailLinkPurpose[] = ["sign_up", "invitation"];

const linkUnusable = () => badRequest("sign_up.link_unusable", "This link has expired or was already used. Go back to the app and start the sign-up again.");

export interface SignUpResult {
  userId: string;
  amr: string[];
  /** The interaction the sign-up started from, if any. */
  interactionUid: string | null;
}

/**
 * Self-registration: email → single-use link by mail → a passkey for the new account. The account
 * is created only when the passkey is, so an abandoned sign-up leaves nothing behind.
 * @throws AppError sign_up.* , users.invalid_email, mail.throttled, passkey.*
 */
export function createSignUpService(deps: {
  users: UserQueries;
  links: EmailLinkQueries;
  signUps: SignUpQueries;
  passkeys: PasskeyService;
  mailer: Mailer;
  mailThrottle: MailThrottle;
  tasks: BackgroundTasks;
  texts: Pick<PageTexts, "inLanguage">;
  config: Pick<Config, "issuer" | "signUp" | "webauthn" | "branding" | "languages">;
  logger: Logger;
  now?: () => Date;
}) {
  const { users, links, mailer, config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const site = config.branding.siteName;

  async function issueLink(purpose: EmailLinkPurpose, email: string, interactionUid: string | null, validSeconds: number) {
    const { token, tokenHash } = newLinkToken();
    const expiresAt = new Date(now().getTime() + validSeconds * 1000);
    await links.replaceLink({ tokenHash, purpose, email, userId: randomUUID(), interactionUid, expiresAt });
    return { link: `${config.issuer}/signup/verify?token=${token}`, expiresAt };
  }

  async function usableLink(token: unknown) {
    assertThat(config.signUp.mode !== "off", linkUnusable);
    const tokenHash = linkTokenHash(token);
    assertThat(tokenHash, linkUnusable);
    const link = await links.findUsableLink(tokenHash, LINK_PURPOSES, now());
    assertThat(link, linkUnusable);
    return link;
  }

  return {
    mode: () => config.signUp.mode,

    /**
     * Mails a sign-up link, or a "you already have an account" notice to an address that has one.
     * The caller learns nothing either way (no enumeration): the lookup and the mail happen after
     * the answer, so even the timing is the same.
     * `language`: the sign-up page's, which the mail speaks too.
     * @returns the normalised address, to show on the "check your email" page
     */
    async requestLink(rawEmail: string, ip: string, interactionUid: string, language: Language): Promise<string> {
      assertThat(config.signUp.mode === "open", () => notFound("sign_up.closed", "Creating an account here is by invitation only."));
      const email = normaliseEmail(rawEmail);
      await deps.mailThrottle.consume("sign_up", email, ip);
      deps.tasks.run("sign-up mail", async () => {
        const text = deps.texts.inLanguage(language);
        const message = (await users.findUserByEmail(email))
          ? accountExistsMail(text, site)
          : signUpLinkMail(text, site, (await issueLink("sign_up", email, interactionUid, config.signUp.linkSeconds)).link, config.signUp.linkSeconds);
        await mailer.send({ to: email, ...message });
      });
      return email;
    },

    /** An operator's invitation (CLI): mailed at once, in `language` (else the default); an existing account is an error here. */
    async invite(rawEmail: string, language: Language = config.languages.default): Promise<{ email: string; expiresAt: Date }> {
      assertThat(config.signUp.mode !== "off", () => badRequest("sign_up.off", "sign-up is off (config signUp.mode); create the account with `users create`"));
      const email = normaliseEmail(rawEmail);
      assertThat(!(await users.findUserByEmail(email)), conflict("users.email_taken", `a user with email ${email} already exists`));
      const { link, expiresAt } = await issueLink("invitation", email, null, config.signUp.invitationSeconds);
      await mailer.send({ to: email, ...invitationMail(deps.texts.inLanguage(language), site, link, config.signUp.invitationSeconds) });
      logger.info({ event: "sign_up.invited" }, "invitation sent");
      return { email, expiresAt };
    },

    /** The address a link is for, and the sign-in that asked for it (none for an invitation). @throws AppError sign_up.link_unusable */
    async linkOf(token: unknown): Promise<{ email: string; interactionUid: string | null }> {
      const { email, interactionUid } = await usableLink(token);
      return { email, interactionUid };
    },

    async registrationOptions(token: unknown) {
      const link = await usableLink(token);
      return deps.passkeys.registrationOptions(`sign-up:${link.tokenHash}`, { id: link.userId, email: link.email, name: null });
    },

    /**
     * Verifies the new passkey, then uses the link and creates the account with it in one transaction.
     * `language`: the page's, stored as the account's (mails outside its requests speak it).
     */
    async complete(token: unknown, response: unknown, deviceName: string, language: Language): Promise<SignUpResult> {
      const link = await usableLink(token);
      const passkey = await deps.passkeys.verifyRegistration(`sign-up:${link.tokenHash}`, link.userId, response, deviceName);
      let created: boolean;
      try {
        created = await deps.signUps.createAccountFromLink({
          tokenHash: link.tokenHash,
          now: now(),
          user: { id: link.userId, email: link.email, language },
          credential: passkey.credential,
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Two links for one address (sign-up and invitation), or a passkey already registered.
        throw conflict("sign_up.conflict", "An account with this email or this passkey already exists. Go back to the app and sign in.");
      }
      assertThat(created, linkUnusable);
      logger.info({ event: "sign_up.completed", userId: link.userId }, "account created");
      return { userId: link.userId, amr: passkey.amr, interactionUid: link.interactionUid };
    },
  };
}

export type SignUpService = ReturnType<typeof createSignUpService>;
