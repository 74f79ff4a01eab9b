import type Router from "@koa/router";
import type { Context } from "koa";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { SecurityNotifier } from "../audit/security-notifier.js";
import { ACR, rankOf } from "../auth/assurance.js";
import type { SignOutEverywhere } from "../auth/sign-out-everywhere.js";
import type { UserQueries } from "../db/users.js";
import { bodyField } from "../http/body-field.js";
import { pageRouter } from "../http/page-router.js";
import type { Views } from "../http/views.js";
import type { BackupCodeService } from "../mfa/backup-codes.js";
import { hasSecondFactor, type SecondFactorService } from "../mfa/second-factor-service.js";
import type { TotpService } from "../mfa/totp.js";
import type { AccountSession, AccountSignIn } from "./account-sign-in.js";
import { safeReturnPath } from "./account-sign-in.js";

export interface AccountDependencies {
  signIn: AccountSignIn;
  users: UserQueries;
  totp: TotpService;
  backupCodes: BackupCodeService;
  secondFactors: SecondFactorService;
  events: SecurityEventLog;
  notify: SecurityNotifier;
  signOutEverywhere: SignOutEverywhere;
  views: Views;
  issuer: string;
  secureCookies: boolean;
  bodyLimit: string;
  reverifySeconds: number;
}

/**
 * `/account`: the user's own security settings (second factors for now; issue #5 adds passkeys,
 * sessions and apps). Every change needs a recent verification (`account.reverifySeconds`) at the
 * strongest level the user has: MFA once they have a second factor or a passkey.
 */
export function accountRoutes(deps: AccountDependencies): Router {
  const { signIn, views, totp, backupCodes, events } = deps;
  const router = pageRouter("/account", deps);

  /** The signed-in account, or a redirect to sign in (then null). */
  async function signedIn(ctx: Context): Promise<AccountSession | null> {
    const session = await signIn.current(ctx);
    const user = session ? await deps.users.findUserById(session.userId) : null;
    if (!session || !user || user.disabledAt) {
      signIn.start(ctx, ctx.path);
      return null;
    }
    return session;
  }

  /** The session, when its last verification is recent and strong enough to change settings; else a redirect to verify again. */
  async function recentlyVerified(ctx: Context): Promise<AccountSession | null> {
    const session = await signedIn(ctx);
    if (!session) return null;
    const required = hasSecondFactor(await deps.secondFactors.factorsOf(session.userId)) ? ACR.mfa : ACR.password;
    // Whole seconds, as oidc-provider's max_age check counts them (so the two agree on "too old").
    const fresh = Math.floor(Date.now() / 1000) - session.loginTs <= deps.reverifySeconds;
    if (fresh && rankOf(session.acr) >= rankOf(required)) return session;
    signIn.start(ctx, "/account/security", { acr: required, maxAge: deps.reverifySeconds });
    return null;
  }

  const changed = (ctx: Context, session: AccountSession, type: string, change: string, details?: Record<string, number>) =>
    deps.notify({ userId: session.userId, type, change, origin: { ip: ctx.ip, userAgent: ctx.get("User-Agent") }, details });

  /** After a change, `offerSignOut` puts "Sign out all other sessions" first (issue #4). */
  async function overview(ctx: Context, session: AccountSession, notice?: string, offerSignOut = false) {
    const factors = await deps.secondFactors.factorsOf(session.userId);
    views.render(ctx, "account/security", { title: "Security", ...factors, notice, offerSignOut });
  }

  router.get("/", (ctx) => {
    ctx.status = 303;
    ctx.redirect("/account/security");
  });
  router.get("/signin", (ctx) => signIn.start(ctx, safeReturnPath(ctx.query.return)));
  router.get("/callback", async (ctx) => {
    ctx.status = 303;
    ctx.redirect(await signIn.callback(ctx));
  });

  router.get("/security", async (ctx) => {
    const session = await signedIn(ctx);
    if (session) await overview(ctx, session);
  });

  router.post("/security/totp", async (ctx) => {
    const session = await recentlyVerified(ctx);
    if (!session) return;
    const user = await deps.users.findUserById(session.userId);
    const enrolment = await totp.startEnrolment({ id: session.userId, email: user?.email ?? session.userId });
    views.render(ctx, "account/totp-enrol", {
      title: "Set up an authenticator app",
      ...enrolment,
      confirmAction: "/account/security/totp/confirm",
      cancelHref: "/account/security",
    });
  });

  router.post("/security/totp/confirm", async (ctx) => {
    const session = await recentlyVerified(ctx);
    if (!session) return;
    const code = bodyField(ctx.request.body, "code").replace(/\s/g, "");
    if (!(await totp.confirmEnrolment(session.userId, code))) {
      await events.record({ type: "mfa.totp_enrolment", outcome: "failure", userId: session.userId, ip: ctx.ip, userAgent: ctx.get("User-Agent") });
      views.render(ctx, "account/totp-confirm-failed", { title: "That code did not match" }, 400);
      return;
    }
    await changed(ctx, session, "mfa.totp_added", "An authenticator app was set up");
    // The first second factor comes with backup codes, so losing the phone does not lock the user out.
    const codes = (await backupCodes.remaining(session.userId)) === 0 ? await backupCodes.regenerate(session.userId) : null;
    if (codes) await changed(ctx, session, "mfa.backup_codes_created", "Backup codes were created", { count: codes.length });
    views.render(ctx, "account/totp-done", { title: "Authenticator app set up", codes });
  });

  router.post("/security/totp/remove", async (ctx) => {
    const session = await recentlyVerified(ctx);
    if (!session) return;
    await totp.remove(session.userId);
    await changed(ctx, session, "mfa.totp_removed", "The authenticator app was removed");
    await overview(ctx, session, "The authenticator app was removed.", true);
  });

  router.post("/security/sign-out-others", async (ctx) => {
    const session = await recentlyVerified(ctx);
    if (!session) return;
    await deps.signOutEverywhere(session.userId, session.sessionUid);
    await changed(ctx, session, "session.signed_out_others", "Every other session was signed out");
    await overview(ctx, session, "Every other session is signed out. This one stays signed in.");
  });

  router.post("/security/backup-codes", async (ctx) => {
    const session = await recentlyVerified(ctx);
    if (!session) return;
    const codes = await backupCodes.regenerate(session.userId);
    await changed(ctx, session, "mfa.backup_codes_created", "New backup codes were created (the old ones no longer work)", { count: codes.length });
    views.render(ctx, "account/backup-codes", { title: "Your backup codes", codes });
  });

  return router;
}
