import type { BackgroundTasks } from "../background-tasks.js";
import type { UserQueries } from "../db/users.js";
import type { RequestOrigin } from "../http/request-origin.js";
import { deviceOf } from "../http/user-agent.js";
import type { Mailer } from "../mail/mailer.js";
import { newDeviceMail, securityChangeMail } from "../mail/messages.js";
import type { SecurityEventLog } from "./security-event-log.js";

export interface SecurityChange {
  userId: string;
  /** The event type, e.g. "mfa.totp_added". */
  type: string;
  /** What the mail says happened, e.g. "An authenticator app was set up". */
  change: string;
  origin: RequestOrigin;
  details?: Record<string, string | number | boolean | null>;
}

/**
 * Every change to how an account signs in is recorded as a security event and mailed to the
 * owner, so an intruder's change does not go unnoticed. The mail goes out after the answer.
 */
export function createSecurityNotifier(deps: { events: SecurityEventLog; users: UserQueries; mailer: Mailer; tasks: BackgroundTasks; siteName: string }) {
  return async (change: SecurityChange): Promise<void> => {
    await deps.events.record({ type: change.type, outcome: "success", userId: change.userId, ...change.origin, details: change.details });
    const user = await deps.users.findUserById(change.userId);
    if (!user) return;
    const mail = securityChangeMail(deps.siteName, change.change, { at: new Date(), device: deviceOf(change.origin.userAgent).name, ip: change.origin.ip });
    deps.tasks.run("security-change mail", () => deps.mailer.send({ to: user.email, ...mail }));
  };
}

export type SecurityNotifier = ReturnType<typeof createSecurityNotifier>;

/** Mails the owner about a sign-in from a browser the account never used before. */
export function createNewDeviceNotice(deps: { users: UserQueries; mailer: Mailer; tasks: BackgroundTasks; siteName: string; issuer: string }) {
  return async (userId: string, origin: RequestOrigin): Promise<void> => {
    const user = await deps.users.findUserById(userId);
    if (!user) return;
    const mail = newDeviceMail(deps.siteName, { at: new Date(), device: deviceOf(origin.userAgent).name, ip: origin.ip }, `${deps.issuer}/account#sessions`);
    deps.tasks.run("new-device mail", () => deps.mailer.send({ to: user.email, ...mail }));
  };
}

export type NewDeviceNotice = ReturnType<typeof createNewDeviceNotice>;
