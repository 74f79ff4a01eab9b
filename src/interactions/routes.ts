import type Router from "@koa/router";
import type { Context } from "koa";
import type Provider from "oidc-provider";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { NewDeviceNotice, SecurityNotifier } from "../audit/security-notifier.js";
import type { DeviceCookie } from "../auth/device-cookie.js";
import type { RiskAssessor } from "../auth/risk-assessor.js";
import type { SignInThrottle } from "../db/rate-limits.js";
import type { SignInStepQueries } from "../db/sign-in-steps.js";
import type { UserQueries } from "../db/users.js";
import { pageRouter } from "../http/page-router.js";
import type { Views } from "../http/views.js";
import type { BackupCodeService } from "../mfa/backup-codes.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import type { TotpService } from "../mfa/totp.js";
import type { RecoveryService } from "../recovery/recovery-service.js";
import type { SignUpService } from "../signup/sign-up-service.js";
import type { UserLanguage } from "../users/user-language.js";
import type { UserService } from "../users/user-service.js";
import type { PasskeyService } from "../webauthn/passkey-service.js";
import { appOnPage } from "./app-on-page.js";
import { consentStep } from "./consent.js";
import { enrolmentStep } from "./enrolment.js";
import { finishInteraction, type InteractionDetails } from "./interaction.js";
import { loginStep } from "./login.js";
import { passkeyRoutes } from "./passkey.js";
import { recoveryStep } from "./recovery.js";
import { needsFreshCheck, reverifyStep } from "./reverify.js";
import { secondFactorStep } from "./second-factor.js";
import { currentSignIn } from "./sign-in.js";
import { signUpStep } from "./sign-up.js";
import { type Admit, createStepMachine, inStage, interactionOf } from "./step-machine.js";

export interface InteractionDependencies {
  provider: Provider;
  users: UserService;
  userQueries: UserQueries;
  passkeys: PasskeyService;
  signInThrottle: SignInThrottle;
  signInSteps: SignInStepQueries;
  deviceCookie: DeviceCookie;
  signUp: SignUpService;
  secondFactors: SecondFactorService;
  recovery: RecoveryService;
  notifySecurityChange: SecurityNotifier;
  events: SecurityEventLog;
  risk: RiskAssessor;
  noticeNewDevice: NewDeviceNotice;
  userLanguage: UserLanguage;
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
const FRESH_SIGN_IN_REASONS = new Set(["no_session", "login_prompt", "max_age", "id_token_hint", "claims_id_token_sub_value", "passkey_policy"]);

const isStepUp = (details: InteractionDetails) =>
  Boolean(details.session?.accountId) && details.prompt.reasons.every((reason) => !FRESH_SIGN_IN_REASONS.has(reason));

/** "You don't have access to <app>": the only way on is back to the app, with access_denied. */
async function showNoAccess(ctx: Context, details: InteractionDetails, deps: Pick<InteractionDependencies, "provider" | "userQueries" | "views">) {
  const { t } = deps.views.textOf(ctx);
  const app = appOnPage(await deps.provider.Client.find(String(details.params.client_id)), t);
  const user = details.session?.accountId ? await deps.userQueries.findUserById(details.session.accountId) : null;
  const clientName = app?.name ?? String(details.params.client_id);
  deps.views.render(
    ctx,
    "interactions/no-access",
    {
      title: t("sign-in:titles.noAccess"),
      heading: t("sign-in:titles.noAccessTo", { app: clientName }),
      logo: app?.logo,
      uid: details.uid,
      clientName,
      email: user?.email ?? "",
    },
    403,
    { imageOrigins: app?.imageOrigins },
  );
}

/**
 * `/interaction/:uid`: every route declares the stage it answers (`admit`), and the step machine
 * moves the sign-in between stages (panva's example/routes/koa.js asserts `prompt.name` the same way).
 */
export function interactionRoutes(deps: InteractionDependencies): Router {
  const router = pageRouter("/interaction/:uid", deps);
  const admit: Admit = (...stages) => inStage(deps.provider, deps.signInSteps, stages);
  const machine = createStepMachine({ ...deps, steps: deps.signInSteps });
  const login = loginStep(deps, machine);
  const consent = consentStep(deps);
  const signUp = signUpStep(deps);
  const recover = recoveryStep(deps);

  router.get("/", admit(), async (ctx) => {
    const { details, step, stage } = interactionOf(ctx);
    const another = ctx.query.another !== undefined;
    switch (stage) {
      case "consent":
        return consent.show(ctx, details);
      case "access":
        return showNoAccess(ctx, details, deps);
      case "login": {
        if (isStepUp(details)) {
          // A risky silent re-authentication must pass a factor again, whatever the session's level.
          const force = details.prompt.reasons.includes("risk");
          return machine.advance(ctx, "login", await currentSignIn(deps.provider, details), { force, onSignInAgain: () => login.show(ctx, details) });
        }
        if (needsFreshCheck(details) && !another) {
          const session = await currentSignIn(deps.provider, details);
          return machine.goTo(ctx, "login", "reverify", { ...session, amr: [] }, false);
        }
        return login.show(ctx, details);
      }
      case "reverify":
        return another ? login.show(ctx, details) : machine.show(ctx, step as NonNullable<typeof step>);
      default:
        return machine.show(ctx, step as NonNullable<typeof step>);
    }
  });
  router.post("/login", admit("login", "reverify"), (ctx) => login.submit(ctx));
  router.post("/consent", admit("consent"), (ctx) => consent.submit(ctx, interactionOf(ctx).details));
  router.get("/signup", admit("login", "reverify"), (ctx) => signUp.show(ctx, interactionOf(ctx).details));
  router.post("/signup", admit("login", "reverify"), (ctx) => signUp.submit(ctx, interactionOf(ctx).details));
  router.get("/signup/continue", (ctx) => signUp.resume(ctx));
  router.get("/recover", admit("login", "reverify"), (ctx) => recover.show(ctx, interactionOf(ctx).details));
  router.post("/recover", admit("login", "reverify"), (ctx) => recover.submit(ctx, interactionOf(ctx).details));
  router.post("/abort", admit(), async (ctx) => {
    const { details, stage } = interactionOf(ctx);
    if (stage === "access") return finishInteraction(ctx, details, { error: "access_denied", error_description: "The user is not allowed to use this app." });
    if (stage !== "login" && stage !== "consent") await deps.signInSteps.take(details.uid, stage, new Date());
    await finishInteraction(ctx, details, { error: "access_denied", error_description: "The user cancelled the sign-in." });
  });
  passkeyRoutes(router, admit, deps, machine);
  secondFactorStep(deps, machine).routes(router, admit);
  enrolmentStep(deps, machine).routes(router, admit);
  reverifyStep(deps, machine).routes(router, admit);

  return router;
}
