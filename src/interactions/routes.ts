import type Router from "@koa/router";
import type Provider from "oidc-provider";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { NewDeviceNotice, SecurityNotifier } from "../audit/security-notifier.js";
import type { DeviceCookie } from "../auth/device-cookie.js";
import type { RiskAssessor } from "../auth/risk-assessor.js";
import type { CredentialQueries } from "../db/credentials.js";
import type { InteractionStateQueries } from "../db/interaction-state.js";
import type { SignInThrottle } from "../db/rate-limits.js";
import type { UserQueries } from "../db/users.js";
import { badRequest } from "../errors.js";
import { pageRouter } from "../http/page-router.js";
import type { Views } from "../http/views.js";
import type { BackupCodeService } from "../mfa/backup-codes.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import type { TotpService } from "../mfa/totp.js";
import type { RecoveryService } from "../recovery/recovery-service.js";
import type { SignUpService } from "../signup/sign-up-service.js";
import type { UserService } from "../users/user-service.js";
import type { PasskeyService } from "../webauthn/passkey-service.js";
import { consentStep } from "./consent.js";
import { enrolmentStep } from "./enrolment.js";
import { finishInteraction, type InteractionDetails, loadInteraction } from "./interaction.js";
import { loginStep } from "./login.js";
import { passkeyRoutes } from "./passkey.js";
import { recoveryStep } from "./recovery.js";
import { needsFreshCheck, reverifyStep } from "./reverify.js";
import { secondFactorStep } from "./second-factor.js";
import { currentSignIn } from "./sign-in.js";
import { signUpStep } from "./sign-up.js";

export interface InteractionDependencies {
  provider: Provider;
  users: UserService;
  userQueries: UserQueries;
  passkeys: PasskeyService;
  signInThrottle: SignInThrottle;
  deviceCookie: DeviceCookie;
  credentials: CredentialQueries;
  interactionState: InteractionStateQueries;
  signUp: SignUpService;
  secondFactors: SecondFactorService;
  recovery: RecoveryService;
  notifySecurityChange: SecurityNotifier;
  events: SecurityEventLog;
  risk: RiskAssessor;
  noticeNewDevice: NewDeviceNotice;
  totp: TotpService;
  backupCodes: BackupCodeService;
  /** The operator's minimum level for every sign-in (config policy.minimumAcr). */
  globalMinimumAcr: string | null;
  recoveryLinkMinutes: number;
  /** How long a sign-up link works, for the "check your email" page. */
  signUpLinkMinutes: number;
  views: Views;
  issuer: string;
  secureCookies: boolean;
  bodyLimit: string;
  interactionSeconds: number;
}

// Reasons that call for a whole new sign-in; anything else (a level the session lacks) is a step-up.
const FRESH_SIGN_IN_REASONS = new Set(["no_session", "login_prompt", "max_age", "id_token_hint", "claims_id_token_sub_value"]);

const isStepUp = (details: InteractionDetails) =>
  Boolean(details.session?.accountId) && details.prompt.reasons.every((reason) => !FRESH_SIGN_IN_REASONS.has(reason));

/** `/interaction/:uid`: one handler set per prompt (panva's example/routes/koa.js pattern). */
export function interactionRoutes(deps: InteractionDependencies): Router {
  const router = pageRouter("/interaction/:uid", deps);
  const login = loginStep(deps);
  const consent = consentStep(deps);
  const signUp = signUpStep(deps);
  const secondFactor = secondFactorStep(deps);
  const recover = recoveryStep(deps);
  const reverify = reverifyStep(deps);

  router.get("/", async (ctx) => {
    const details = await loadInteraction(ctx, deps.provider);
    switch (details.prompt.name) {
      case "login":
        if (isStepUp(details)) {
          // A risky silent re-authentication must pass a factor again, whatever the session's level.
          const risky = details.prompt.reasons.includes("risk");
          return secondFactor.begin(ctx, details, await currentSignIn(deps.provider, details), false, risky, () => login.show(ctx, details));
        }
        if (needsFreshCheck(details) && ctx.query.another === undefined) return reverify.show(ctx, details);
        return login.show(ctx, details);
      case "consent":
        return consent.show(ctx, details);
      default:
        throw badRequest("interaction.unknown_prompt", "This sign-in step is not supported.");
    }
  });
  router.post("/login", async (ctx) => login.submit(ctx, await loadInteraction(ctx, deps.provider)));
  router.post("/consent", async (ctx) => consent.submit(ctx, await loadInteraction(ctx, deps.provider)));
  router.get("/signup", async (ctx) => signUp.show(ctx, await loadInteraction(ctx, deps.provider)));
  router.post("/signup", async (ctx) => signUp.submit(ctx, await loadInteraction(ctx, deps.provider)));
  router.get("/signup/continue", async (ctx) => signUp.resume(ctx));
  router.get("/recover", async (ctx) => recover.show(ctx, await loadInteraction(ctx, deps.provider)));
  router.post("/recover", async (ctx) => recover.submit(ctx, await loadInteraction(ctx, deps.provider)));
  router.post("/abort", async (ctx) => {
    await loadInteraction(ctx, deps.provider);
    await finishInteraction(ctx, deps.provider, { error: "access_denied", error_description: "The user cancelled the sign-in." });
  });
  passkeyRoutes(router, deps);
  secondFactor.routes(router);
  enrolmentStep(deps).routes(router);
  reverify.routes(router);

  return router;
}
