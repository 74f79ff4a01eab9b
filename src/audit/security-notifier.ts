import { deviceNameOf } from "../account/device-name.js";
import type { BackgroundTasks } from "../background-tasks.js";
import type { UserQueries } from "../db/users.js";
import type { RequestOrigin } from "../http/request-origin.js";
import type { Language } from "../i18n/languages.js";
import type { PageTexts } from "../i18n/page-text.js";
import type { Mailer } from "../mail/mailer.js";
import { newDeviceMail, securityChangeMail } from "../mail/messages.js";
import type { UserLanguage } from "../users/user-language.js";
import type { SecurityEventLog } from "./security-event-log.js";

export interface SecurityChange {
  userId: string;
  /** The event type, e.g. "mfa.totp_added". */
  type: string;
  /** What the mail says happened: a key of `mail:changes`, e.g. "totpAdded". */
  change: string;
  /** The values of that text's placeholders ("name" of a removed passkey). */
  changeValues?: Record<string, string>;
  /** The language of the page the change was made on; without one, the user's. */
  language?: Language;
  origin: RequestOrigin;
  details?: Record<string, string | number | boolean | null>;
}

interface MailDependencies {
  users: UserQueries;
  mailer: Mailer;
  tasks: BackgroundTasks;
  texts: Pick<PageTexts, "inLanguage">;
  userLanguage: Pick<UserLanguage, "of">;
  siteName: string;
}

/**
 * Every change to how an account signs in is recorded as a security event and mailed to the
 * owner, so an intruder's change does not go unnoticed. The mail goes out after the answer.
 */
export function createSecurityNotifier(deps: MailDependencies & { events: SecurityEventLog }) {
  return async (change: SecurityChange): Promise<void> => {
    await deps.events.record({ type: change.type, outcome: "success", userId: change.userId, ...change.origin, details: change.details });
    const user = await deps.users.findUserById(change.userId);
    if (!user) return;
    const text = deps.texts.inLanguage(change.language ?? deps.userLanguage.of(user));
    const origin = { at: new Date(), device: deviceNameOf(text.t, change.origin.userAgent), ip: change.origin.ip };
    const mail = securityChangeMail(text, deps.siteName, { key: change.change, values: change.changeValues }, origin);
    deps.tasks.run("security-change mail", () => deps.mailer.send({ to: user.email, ...mail }));
  };
}

export type SecurityNotifier = ReturnType<typeof createSecurityNotifier>;

/** Mails the owner about a sign-in from a browser the account never used before, in the sign-in's language. */
export function createNewDeviceNotice(deps: MailDependencies & { issuer: string }) {
  return async (userId: string, origin: RequestOrigin, language?: Language): Promise<void> => {
    const user = await deps.users.findUserById(userId);
    if (!user) return;
    const text = deps.texts.inLanguage(language ?? deps.userLanguage.of(user));
    const where = { at: new Date(), device: deviceNameOf(text.t, origin.userAgent), ip: origin.ip };
    const mail = newDeviceMail(text, deps.siteName, where, `${deps.issuer}/account#sessions`);
    deps.tasks.run("new-device mail", () => deps.mailer.send({ to: user.email, ...mail }));
  };
}

export type NewDeviceNotice = ReturnType<typeof createNewDeviceNotice>;
