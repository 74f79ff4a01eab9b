import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { BackgroundTasks } from "../background-tasks.js";
import { linkTokenHash, newLinkToken } from "../crypto/link-token.js";
import type { EmailChangeQueries } from "../db/email-changes.js";
import type { EmailLinkQueries } from "../db/email-links.js";
import type { MailThrottle } from "../db/rate-limits.js";
import type { UserQueries } from "../db/users.js";
import { assertThat, badRequest, conflict } from "../errors.js";
import type { RequestOrigin } from "../http/request-origin.js";
import type { Language } from "../i18n/languages.js";
import type { PageTexts } from "../i18n/page-text.js";
import type { Mailer } from "../mail/mailer.js";
import { emailChangedMail, emailChangeLinkMail, emailInUseMail } from "../mail/messages.js";
import { normaliseEmail } from "../users/email.js";
import { deviceNameOf } from "./device-name.js";

const linkUnusable = () =>
  badRequest("email_change.link_unusable", "This link has expired or was already used. Start the change again from your account page.");

/**
 * Changing the account's address: asked for on the account page (after a recent verification), it
 * takes effect only when a link mailed to the new address is used, and the old address is told.
 * @throws AppError users.invalid_email, email_change.*, mail.throttled
 */
export function createEmailChange(deps: {
  users: UserQueries;
  links: EmailLinkQueries;
  changes: EmailChangeQueries;
  mailer: Mailer;
  mailThrottle: MailThrottle;
  tasks: BackgroundTasks;
  texts: Pick<PageTexts, "inLanguage">;
  events: SecurityEventLog;
  issuer: string;
  siteName: string;
  linkSeconds: number;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  return {
    /**
     * Mails a confirmation link to the new address, or "it already has an account" when it does:
     * the page says the same either way, and the lookup runs after the answer (no enumeration).
     * The mails speak `language`, the account page's.
     * @returns the normalised address, for "check your email"
     */
    async request(userId: string, rawEmail: string, origin: RequestOrigin, language: Language): Promise<string> {
      const email = normaliseEmail(rawEmail);
      const user = await deps.users.findUserById(userId);
      assertThat(user && user.email !== email, () => badRequest("email_change.same_address", "That is already your email address."));
      await deps.mailThrottle.consume("email_change", email, origin.ip);
      await deps.events.record({ type: "email.change_requested", outcome: "success", userId, ...origin });
      const text = deps.texts.inLanguage(language);
      deps.tasks.run("email-change mail", async () => {
        if (await deps.users.findUserByEmail(email)) {
          await deps.mailer.send({ to: email, ...emailInUseMail(text, deps.siteName) });
          return;
        }
        const { token, tokenHash } = newLinkToken();
        await deps.changes.replaceChangeLink({ tokenHash, userId, email, expiresAt: new Date(now().getTime() + deps.linkSeconds * 1000) });
        const link = `${deps.issuer}/account/email/confirm?token=${token}`;
        await deps.mailer.send({ to: email, ...emailChangeLinkMail(text, deps.siteName, link, deps.linkSeconds) });
      });
      return email;
    },

    /** The address waiting for confirmation, shown on the account page. */
    pending: (userId: string) => deps.changes.findPendingChange(userId, now()),

    /** Stops a requested change: its link no longer works. */
    async cancel(userId: string, origin: RequestOrigin): Promise<boolean> {
      const cancelled = await deps.changes.cancelPendingChanges(userId, now());
      if (cancelled > 0) await deps.events.record({ type: "email.change_cancelled", outcome: "success", userId, ...origin });
      return cancelled > 0;
    },

    /** The new address a usable link would move to (for the confirmation page; opening changes nothing). */
    async pendingAddress(token: unknown): Promise<string> {
      const tokenHash = linkTokenHash(token);
      assertThat(tokenHash, linkUnusable);
      const link = await deps.links.findUsableLink(tokenHash, ["email_change"], now());
      assertThat(link, linkUnusable);
      return link.email;
    },

    /** Moves the account to the link's address, then tells the old one (in `language`, the confirming page's). */
    async confirm(token: unknown, origin: RequestOrigin, language: Language): Promise<string> {
      const tokenHash = linkTokenHash(token);
      assertThat(tokenHash, linkUnusable);
      const outcome = await deps.changes.applyChange(tokenHash, now());
      if ("taken" in outcome) throw conflict("email_change.address_taken", "That address now belongs to another account. Nothing was changed.");
      if ("unusable" in outcome) throw linkUnusable();
      const { userId, oldEmail, newEmail } = outcome.applied;
      await deps.events.record({ type: "email.changed", outcome: "success", userId, ...origin });
      const text = deps.texts.inLanguage(language);
      const mail = emailChangedMail(text, deps.siteName, newEmail, { at: now(), device: deviceNameOf(text.t, origin.userAgent), ip: origin.ip });
      deps.tasks.run("email-changed notice", () => deps.mailer.send({ to: oldEmail, ...mail }));
      return newEmail;
    },
  };
}

export type EmailChange = ReturnType<typeof createEmailChange>;
