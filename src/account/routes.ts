import type Router from "@koa/router";
import type { Context } from "koa";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { SecurityNotifier } from "../audit/security-notifier.js";
import type { SignOutEverywhere, SignOutSession } from "../auth/sign-out-everywhere.js";
import type { CredentialQueries } from "../db/credentials.js";
import type { OidcPayloadQueries } from "../db/oidc-payloads.js";
import type { UserQueries } from "../db/users.js";
import { pageRouter } from "../http/page-router.js";
import { requestOrigin } from "../http/request-origin.js";
import type { Views } from "../http/views.js";
import type { BackupCodeService } from "../mfa/backup-codes.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import type { TotpService } from "../mfa/totp.js";
import type { Invalidator } from "../oidc/payload-invalidation.js";
import type { UserLanguage } from "../users/user-language.js";
import type { PasskeyService } from "../webauthn/passkey-service.js";
import type { AccountAccess } from "./account-access.js";
import type { AccountOverview } from "./account-overview.js";
import type { AccountSession, AccountSignIn } from "./account-sign-in.js";
import { safeReturnPath } from "./account-sign-in.js";
import type { EmailChange } from "./email-change.js";
import { emailRoutes } from "./email-routes.js";
import { passkeyRoutes } from "./passkey-routes.js";
import { passwordRoutes } from "./password-routes.js";
import { securityRoutes } from "./security-routes.js";
import { sessionRoutes } from "./session-routes.js";

export interface AccountDependencies {
  signIn: AccountSignIn;
  access: AccountAccess;
  overview: AccountOverview;
  users: UserQueries;
  credentials: CredentialQueries;
  passkeys: PasskeyService;
  totp: TotpService;
  backupCodes: BackupCodeService;
  secondFactors: SecondFactorService;
  oidcPayloads: OidcPayloadQueries;
  invalidate: Invalidator;
  events: SecurityEventLog;
  notify: SecurityNotifier;
  signOutEverywhere: SignOutEverywhere;
  signOutSession: SignOutSession;
  emailChange: EmailChange;
  /** Hashes and stores a new password (UserService.setPassword). */
  setPassword: (userId: string, password: string, options: { allowFirst: boolean }) => Promise<"added" | "changed" | "refused">;
  /** signUp.passwords "optional": an account without a password may add one. */
  passwordsOptional: boolean;
  userLanguage: Pick<UserLanguage, "remember">;
  views: Views;
  issuer: string;
  /** The passkeys' RP ID, for the page's WebAuthn Signal API calls. */
  rpId: string;
  secureCookies: boolean;
  bodyLimit: string;
}

/** What every part of the account pages shares: rendering the page and recording a change. */
export interface AccountPages {
  /** The account page; after a change, `offerSignOut` puts "Sign out everywhere else" first (issue #4). */
  show(ctx: Context, session: AccountSession, notice?: string, offerSignOut?: boolean): Promise<void>;
  /**
   * Records a change as a security event, mailing the owner (in the page's language) when `change`
   * (a key of `mail:changes`, with `changeValues`) is given.
   */
  changed(
    ctx: Context,
    session: AccountSession,
    type: string,
    change: string | null,
    details?: Record<string, string | number>,
    changeValues?: Record<string, string>,
  ): Promise<void>;
}

/**
 * `/account`: the user's own page — passkeys, second factors, sessions, connected apps and recent
 * security activity. Looking needs a session; every change needs a recent verification
 * (`AccountAccess.recentlyVerified`), and every form carries a CSRF token (page router).
 */
export function accountRoutes(deps: AccountDependencies): Router {
  const { signIn, views, access } = deps;
  const router = pageRouter("/account", deps);

  const pages: AccountPages = {
    async show(ctx, session, notice, offerSignOut = false) {
      const { t, language } = views.textOf(ctx);
      const overview = await deps.overview(session, t);
      await deps.userLanguage.remember({ id: session.userId, language: overview.language }, language);
      // WebAuthn L3 Signal API (passkey.js-free, account-signals.js): the password manager learns
      // which of its passkeys this account still accepts, and the account's current email.
      const signals = {
        rpId: deps.rpId,
        userId: Buffer.from(session.userId, "utf8").toString("base64url"),
        credentialIds: overview.passkeys.map((passkey) => passkey.id).join(" "),
        name: overview.email,
      };
      views.render(ctx, "account/index", {
        title: t("account:title.account"),
        wide: true,
        ...overview,
        notice,
        offerSignOut,
        signals,
        passwordsOptional: deps.passwordsOptional,
      });
    },
    async changed(ctx, session, type, change, details, changeValues) {
      const origin = requestOrigin(ctx);
      const { language } = views.textOf(ctx);
      if (change) await deps.notify({ userId: session.userId, type, change, changeValues, language, origin, details });
      else await deps.events.record({ type, outcome: "success", userId: session.userId, ...origin, details });
    },
  };

  router.get("/", async (ctx) => {
    const session = await access.signedIn(ctx);
    if (session) await pages.show(ctx, session);
  });
  // The issue #4 address of the security settings, now a part of the account page.
  router.get("/security", (ctx) => {
    ctx.status = 301;
    ctx.redirect("/account");
  });
  router.get("/signin", (ctx) => signIn.start(ctx, safeReturnPath(ctx.query.return)));
  router.get("/callback", async (ctx) => {
    ctx.status = 303;
    ctx.redirect(await signIn.callback(ctx));
  });

  securityRoutes(router, deps, pages);
  passkeyRoutes(router, deps, pages);
  sessionRoutes(router, deps, pages);
  emailRoutes(router, deps, pages);
  passwordRoutes(router, deps, pages);
  return router;
}
