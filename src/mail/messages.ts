import type { PageText } from "../i18n/page-text.js";

/**
 * The text of every mail the IdP sends, in the reader's language (`locales/<language>/mail.json`).
 * Plain text: nothing to render, nothing to track.
 */
export type MailText = Pick<PageText, "t" | "dateTime">;

/** Where a change came from, as a security mail shows it. */
export interface MailOrigin {
  at: Date;
  device: string;
  ip: string;
}

const minutes = (seconds: number) => Math.round(seconds / 60);

function expiryText(text: MailText, seconds: number): string {
  if (seconds < 2 * 3600) return text.t("mail:expiry.minutes", { count: minutes(seconds) });
  if (seconds < 2 * 86400) return text.t("mail:expiry.hours", { count: Math.round(seconds / 3600) });
  return text.t("mail:expiry.days", { count: Math.round(seconds / 86400) });
}

const lines = (...paragraphs: string[]) => paragraphs.join("\n");

function originLines(text: MailText, origin: MailOrigin): string {
  return lines(
    text.t("mail:origin.when", { when: text.dateTime(origin.at) }),
    text.t("mail:origin.device", { device: origin.device }),
    text.t("mail:origin.ip", { ip: origin.ip }),
  );
}

export function signUpLinkMail(text: MailText, site: string, link: string, validSeconds: number) {
  return {
    kind: "sign_up_link",
    subject: text.t("mail:signUpLink.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:signUpLink.asked", { site }),
      text.t("mail:signUpLink.open", { expiry: expiryText(text, validSeconds) }),
      "",
      link,
      "",
      text.t("mail:signUpLink.ignore"),
    ),
  };
}

/** Sent instead of a sign-up link when the address already has an account (the page says the same either way). */
export function accountExistsMail(text: MailText, site: string) {
  return {
    kind: "sign_up_account_exists",
    subject: text.t("mail:accountExists.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:accountExists.asked", { site }),
      text.t("mail:accountExists.signIn"),
      "",
      text.t("mail:accountExists.ignore"),
    ),
  };
}

export function invitationMail(text: MailText, site: string, link: string, validSeconds: number) {
  return {
    kind: "invitation",
    subject: text.t("mail:invitation.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:invitation.invited", { site }),
      text.t("mail:invitation.open", { expiry: expiryText(text, validSeconds) }),
      "",
      link,
      "",
      text.t("mail:invitation.ignore"),
    ),
  };
}

/**
 * Sent on every change to how the account signs in, so an intruder's change does not go unnoticed.
 * `change`: a key of `mail:changes` ("passkeyAdded"), with `values` for its placeholders.
 */
export function securityChangeMail(text: MailText, site: string, change: { key: string; values?: Record<string, string> }, origin: MailOrigin) {
  return {
    kind: "security_change",
    subject: text.t("mail:securityChange.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:securityChange.happened", { change: text.t(`mail:changes.${change.key}`, { ...change.values }), site }),
      "",
      originLines(text, origin),
      "",
      text.t("mail:securityChange.ifNotYou"),
    ),
  };
}

export function recoveryLinkMail(text: MailText, site: string, link: string, validSeconds: number, waitUntil: Date | null, byOperator: boolean) {
  const expiry = expiryText(text, validSeconds);
  const wait = waitUntil ? [text.t("mail:recoveryLink.waits", { from: text.dateTime(waitUntil), expiry }), text.t("mail:recoveryLink.cancelIfNotYou"), ""] : [];
  return {
    kind: "recovery_link",
    subject: text.t("mail:recoveryLink.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      byOperator ? text.t("mail:recoveryLink.byOperator", { site }) : text.t("mail:recoveryLink.asked", { site }),
      waitUntil ? text.t("mail:recoveryLink.open") : text.t("mail:recoveryLink.openWithin", { expiry }),
      "",
      link,
      "",
      ...wait,
      text.t("mail:recoveryLink.worksOnce"),
    ),
  };
}

/** A sign-in from a browser the account has not used before (issue #5). */
export function newDeviceMail(text: MailText, site: string, origin: MailOrigin, sessionsLink: string) {
  return {
    kind: "new_device",
    subject: text.t("mail:newDevice.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:newDevice.used", { site }),
      "",
      originLines(text, origin),
      "",
      text.t("mail:newDevice.ifNotYou", { link: sessionsLink }),
    ),
  };
}

/** To the new address of an email change: proves the user reads it. */
export function emailChangeLinkMail(text: MailText, site: string, link: string, validSeconds: number) {
  return {
    kind: "email_change_link",
    subject: text.t("mail:emailChangeLink.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:emailChangeLink.asked", { site }),
      text.t("mail:emailChangeLink.open", { expiry: expiryText(text, validSeconds) }),
      "",
      link,
      "",
      text.t("mail:emailChangeLink.ignore"),
    ),
  };
}

/** Sent instead of a change link when the address already has an account (the page says the same either way). */
export function emailInUseMail(text: MailText, site: string) {
  return {
    kind: "email_change_in_use",
    subject: text.t("mail:emailInUse.subject", { site }),
    text: lines(text.t("mail:hello"), "", text.t("mail:emailInUse.asked", { site }), text.t("mail:emailInUse.nothingChanged")),
  };
}

/** To the old address after an email change, so a takeover does not go unnoticed. */
export function emailChangedMail(text: MailText, site: string, newEmail: string, origin: MailOrigin) {
  return {
    kind: "email_changed",
    subject: text.t("mail:emailChanged.subject", { site }),
    text: lines(
      text.t("mail:hello"),
      "",
      text.t("mail:emailChanged.nowUses", { site, email: newEmail }),
      "",
      originLines(text, origin),
      "",
      text.t("mail:emailChanged.ifNotYou"),
    ),
  };
}
