import type Router from "@koa/router";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import type { AccountDependencies, AccountPages } from "./routes.js";

/** Second factors on the account page: authenticator app set-up and removal, backup codes, "sign out everywhere else". */
export function securityRoutes(router: Router, deps: AccountDependencies, pages: AccountPages): void {
  const { access, views, totp, backupCodes, events } = deps;

  router.post("/security/totp", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const user = await deps.users.findUserById(session.userId);
    const enrolment = await totp.startEnrolment({ id: session.userId, email: user?.email ?? session.userId });
    views.render(ctx, "account/totp-enrol", {
      title: "Set up an authenticator app",
      ...enrolment,
      confirmAction: "/account/security/totp/confirm",
      cancelHref: "/account",
    });
  });

  router.post("/security/totp/confirm", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const code = bodyField(ctx.request.body, "code").replace(/\s/g, "");
    if (!(await totp.confirmEnrolment(session.userId, code))) {
      await events.record({ type: "mfa.totp_enrolment", outcome: "failure", userId: session.userId, ...requestOrigin(ctx) });
      views.render(ctx, "account/totp-confirm-failed", { title: "That code did not match" }, 400);
      return;
    }
    await pages.changed(ctx, session, "mfa.totp_added", "An authenticator app was set up");
    // The first second factor comes with backup codes, so losing the phone does not lock the user out.
    const codes = (await backupCodes.remaining(session.userId)) === 0 ? await backupCodes.regenerate(session.userId) : null;
    if (codes) await pages.changed(ctx, session, "mfa.backup_codes_created", "Backup codes were created", { count: codes.length });
    views.render(ctx, "account/totp-done", { title: "Authenticator app set up", codes });
  });

  router.post("/security/totp/remove", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    await totp.remove(session.userId);
    await pages.changed(ctx, session, "mfa.totp_removed", "The authenticator app was removed");
    await pages.show(ctx, session, "The authenticator app was removed.", true);
  });

  router.post("/security/backup-codes", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const codes = await backupCodes.regenerate(session.userId);
    await pages.changed(ctx, session, "mfa.backup_codes_created", "New backup codes were created (the old ones no longer work)", { count: codes.length });
    views.render(ctx, "account/backup-codes", { title: "Your backup codes", codes });
  });
}
