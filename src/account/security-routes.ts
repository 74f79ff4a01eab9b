import type Router from "@koa/router";
import type { Context } from "koa";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import { ENROLMENT_SECONDS } from "../mfa/totp.js";
import type { AccountDependencies, AccountPages } from "./routes.js";

/** Second factors on the account page: authenticator app set-up and removal, backup codes, "sign out everywhere else". */
export function securityRoutes(router: Router, deps: AccountDependencies, pages: AccountPages): void {
  const { access, views, totp, backupCodes, events, secondFactors } = deps;
  const enrolPage = (ctx: Context) => ({
    title: views.textOf(ctx).t("account:title.setUpTotp"),
    confirmAction: "/account/security/totp/confirm",
    cancelHref: "/account",
  });

  router.post("/security/totp", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const user = await deps.users.findUserById(session.userId);
    const enrolment = await totp.startEnrolment({ id: session.userId, email: user?.email ?? session.userId });
    views.render(ctx, "account/totp-enrol", { ...enrolPage(ctx), ...enrolment });
  });

  router.post("/security/totp/confirm", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const origin = requestOrigin(ctx);
    const { t } = views.textOf(ctx);
    if (!(await secondFactors.confirmTotpEnrolment(session.userId, bodyField(ctx.request.body, "code"), origin))) {
      await events.record({ type: "mfa.totp_enrolment", outcome: "failure", userId: session.userId, ...origin });
      const user = await deps.users.findUserById(session.userId);
      // A wrong code keeps the set-up: the same secret, shown again from its sealed copy, until it expires.
      const pending = await totp.pendingEnrolment({ id: session.userId, email: user?.email ?? session.userId });
      if (pending) {
        views.render(ctx, "account/totp-enrol", { ...enrolPage(ctx), ...pending, error: t("account:totp.wrongCode") }, 400);
        return;
      }
      if (await totp.isEnabled(session.userId)) return pages.show(ctx, session, t("account:notices.totpAlready"));
      views.render(ctx, "account/totp-expired", { title: t("account:title.totpExpired"), minutes: ENROLMENT_SECONDS / 60 }, 400);
      return;
    }
    await pages.changed(ctx, session, "mfa.totp_added", "totpAdded");
    // The first second factor comes with backup codes, so losing the phone does not lock the user out.
    const codes = (await backupCodes.remaining(session.userId)) === 0 ? await backupCodes.regenerate(session.userId) : null;
    if (codes) await pages.changed(ctx, session, "mfa.backup_codes_created", "backupCodesCreated", { count: codes.length });
    views.render(ctx, "account/totp-done", { title: t("account:title.totpDone"), codes });
  });

  router.post("/security/totp/remove", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    await totp.remove(session.userId);
    await pages.changed(ctx, session, "mfa.totp_removed", "totpRemoved");
    await pages.show(ctx, session, views.textOf(ctx).t("account:notices.totpRemoved"), true);
  });

  router.post("/security/backup-codes", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const codes = await backupCodes.regenerate(session.userId);
    await pages.changed(ctx, session, "mfa.backup_codes_created", "backupCodesReplaced", { count: codes.length });
    views.render(ctx, "account/backup-codes", { title: views.textOf(ctx).t("account:title.backupCodes"), codes });
  });
}
