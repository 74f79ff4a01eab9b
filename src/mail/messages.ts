/** The text of every mail the IdP sends. Plain text: nothing to render, nothing to track. */

const minutes = (seconds: number) => Math.round(seconds / 60);

function expiryText(seconds: number): string {
  if (seconds < 2 * 3600) return `${minutes(seconds)} minutes`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} hours`;
  return `${Math.round(seconds / 86400)} days`;
}

export function signUpLinkMail(site: string, link: string, validSeconds: number) {
  return {
    kind: "sign_up_link",
    subject: `Confirm your email to create your account at ${site}`,
    text: [
      "Hello,",
      "",
      `Someone, hopefully you, asked to create an account at ${site} with this email address.`,
      `To continue, open this link within ${expiryText(validSeconds)} and create a passkey:`,
      "",
      link,
      "",
      "The link works once. If you did not ask for this, ignore this mail: no account is created.",
    ].join("\n"),
  };
}

/** Sent instead of a sign-up link when the address already has an account (the page says the same either way). */
export function accountExistsMail(site: string) {
  return {
    kind: "sign_up_account_exists",
    subject: `You already have an account at ${site}`,
    text: [
      "Hello,",
      "",
      `Someone, hopefully you, asked to create an account at ${site} with this email address, but it already has one.`,
      "Go back to the app and sign in with your passkey or password instead.",
      "",
      "If you did not ask for this, ignore this mail: nothing has changed.",
    ].join("\n"),
  };
}

export function invitationMail(site: string, link: string, validSeconds: number) {
  return {
    kind: "invitation",
    subject: `You are invited to create an account at ${site}`,
    text: [
      "Hello,",
      "",
      `An administrator invited you to create an account at ${site} with this email address.`,
      `Open this link within ${expiryText(validSeconds)} and create a passkey to sign in with:`,
      "",
      link,
      "",
      "The link works once. If you did not expect this, ignore this mail.",
    ].join("\n"),
  };
}

/** Sent on every change to how the account signs in, so an intruder's change does not go unnoticed. */
export function securityChangeMail(site: string, change: string, origin: { at: Date; device: string; ip: string }) {
  return {
    kind: "security_change",
    subject: `Security change on your ${site} account`,
    text: [
      "Hello,",
      "",
      `${change} on your ${site} account.`,
      "",
      `When:   ${origin.at.toUTCString()}`,
      `Device: ${origin.device}`,
      `IP:     ${origin.ip}`,
      "",
      "If this was you, there is nothing to do. If not, sign in, review your security settings and",
      'sign out your other sessions, or use "Lost your passkey?" on the sign-in page.',
    ].join("\n"),
  };
}

export function recoveryLinkMail(site: string, link: string, validSeconds: number, waitUntil: Date | null, byOperator: boolean) {
  const wait = waitUntil
    ? [
        `Because the account has no second factor, the link starts working only at ${waitUntil.toUTCString()},`,
        `and then works for ${expiryText(validSeconds)}.`,
        'If you did not ask for this, open the link now and choose "Cancel this recovery".',
        "",
      ]
    : [];
  return {
    kind: "recovery_link",
    subject: `Recover your ${site} account`,
    text: [
      "Hello,",
      "",
      byOperator
        ? `An administrator started a recovery of your ${site} account, so you can add a new passkey.`
        : `Someone, hopefully you, asked to recover your ${site} account (a lost passkey).`,
      `Open this link${waitUntil ? "" : ` within ${expiryText(validSeconds)}`} to add a new passkey:`,
      "",
      link,
      "",
      ...wait,
      "The link works once. It does not remove anything from your account; using it signs out every",
      "device. If you did not ask for this, ignore this mail and nothing changes.",
    ].join("\n"),
  };
}

/** A sign-in from a browser the account has not used before (issue #5). */
export function newDeviceMail(site: string, origin: { at: Date; device: string; ip: string }, sessionsLink: string) {
  return {
    kind: "new_device",
    subject: `New sign-in to your ${site} account`,
    text: [
      "Hello,",
      "",
      `Your ${site} account was just used to sign in from a browser it had not been used with before.`,
      "",
      `When:   ${origin.at.toUTCString()}`,
      `Device: ${origin.device}`,
      `IP:     ${origin.ip}`,
      "",
      "If this was you, there is nothing to do. If not, review your account and sign out the other",
      `sessions: ${sessionsLink}`,
    ].join("\n"),
  };
}

/** To the new address of an email change: proves the user reads it. */
export function emailChangeLinkMail(site: string, link: string, validSeconds: number) {
  return {
    kind: "email_change_link",
    subject: `Confirm your new email address for ${site}`,
    text: [
      "Hello,",
      "",
      `Someone, hopefully you, asked to use this address for their ${site} account.`,
      `To confirm, open this link within ${expiryText(validSeconds)}:`,
      "",
      link,
      "",
      "The link works once. If you did not ask for this, ignore this mail: nothing changes.",
    ].join("\n"),
  };
}

/** Sent instead of a change link when the address already has an account (the page says the same either way). */
export function emailInUseMail(site: string) {
  return {
    kind: "email_change_in_use",
    subject: `This address already has an account at ${site}`,
    text: [
      "Hello,",
      "",
      `Someone asked to move an account at ${site} to this address, but it already belongs to an account.`,
      "Nothing was changed. If that was you, sign in with this address instead.",
    ].join("\n"),
  };
}

/** To the old address after an email change, so a takeover does not go unnoticed. */
export function emailChangedMail(site: string, newEmail: string, origin: { at: Date; device: string; ip: string }) {
  return {
    kind: "email_changed",
    subject: `The email address of your ${site} account was changed`,
    text: [
      "Hello,",
      "",
      `Your ${site} account now uses ${newEmail}. Mail about it no longer comes here.`,
      "",
      `When:   ${origin.at.toUTCString()}`,
      `Device: ${origin.device}`,
      `IP:     ${origin.ip}`,
      "",
      "If this was not you, contact your administrator at once: they can recover the account.",
    ].join("\n"),
  };
}
