import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR, rankOf } from "../auth/assurance.js";
import type { StepRow } from "../db/sign-in-steps.js";
import { badRequest } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import { ceremonyAppOf } from "./ceremony-app.js";
import { requirementOf } from "./requirement.js";
import type { InteractionDependencies } from "./routes.js";
import { withVerified } from "./second-factor.js";
import { type Admit, interactionOf, type StepMachine } from "./step-machine.js";

const accountGone = () => badRequest("interaction.expired", "This sign-in page has expired. Go back to the app and start again.");

/**
 * Stage `enrolment`: a user short of the operator's minimum (global or the client's) sets up a
 * passkey (reaches every level) or an authenticator app (MFA). The step machine lets a sign-in in
 * here only after this interaction verified every factor the user already has. Then `enrolled`
 * (the app's backup codes are shown once) until "Continue". Every set-up is recorded and mailed.
 */
export function enrolmentStep(
  deps: Pick<
    InteractionDependencies,
    "provider" | "views" | "users" | "totp" | "secondFactors" | "backupCodes" | "passkeys" | "signInSteps" | "notifySecurityChange" | "globalMinimumAcr"
  >,
  machine: StepMachine,
) {
  const { views, totp, backupCodes, passkeys } = deps;
  const stepOf = (ctx: Context) => interactionOf(ctx).step as StepRow;
  const uidOf = (ctx: Context) => interactionOf(ctx).details.uid;

  async function userOf(step: StepRow) {
    const user = await deps.users.findById(step.userId);
    if (!user) throw accountGone();
    return user;
  }

  /** An authenticator app reaches MFA only: not offered, started or confirmed when a passkey is required. */
  async function assertAppAllowed(ctx: Context) {
    const requirement = await requirementOf(deps, interactionOf(ctx).details);
    if (requirement.rank >= rankOf(ACR.passkey)) throw badRequest("mfa.passkey_required", "This application requires a passkey.");
  }

  return {
    routes(router: Router, admit: Admit) {
      const enrolPage = (ctx: Context) => ({
        title: views.textOf(ctx).t("sign-in:titles.setUpAuthenticatorApp"),
        confirmAction: `/interaction/${uidOf(ctx)}/enrol/totp/confirm`,
        cancelHref: `/interaction/${uidOf(ctx)}`,
      });

      router.post("/enrol/totp", admit("enrolment"), async (ctx) => {
        await assertAppAllowed(ctx);
        const enrolment = await totp.startEnrolment(await userOf(stepOf(ctx)));
        views.render(ctx, "account/totp-enrol", { ...enrolPage(ctx), ...enrolment });
      });

      router.post("/enrol/totp/confirm", admit("enrolment"), async (ctx) => {
        const step = stepOf(ctx);
        await assertAppAllowed(ctx);
        let stepMoved = false;
        // The app is confirmed only together with leaving the step that allowed it.
        const confirmed = await deps.secondFactors.confirmTotpEnrolment(
          step.userId,
          bodyField(ctx.request.body, "code"),
          requestOrigin(ctx),
          async (confirm) => {
            const moved = await deps.signInSteps.moveWith(uidOf(ctx), "enrolment", "enrolled", withVerified(step, ["otp"]), new Date(), (tx) => confirm(tx));
            stepMoved = moved === "step_moved";
            return typeof moved === "object";
          },
        );
        if (stepMoved) throw machine.wrongStep();
        if (!confirmed) {
          // A wrong code keeps the set-up (the same secret) until it expires; then starting again replaces it.
          const pending = await totp.pendingEnrolment(await userOf(step));
          if (pending)
            return views.render(ctx, "account/totp-enrol", { ...enrolPage(ctx), ...pending, error: views.textOf(ctx).t("sign-in:enrol.wrongCode") }, 400);
          return machine.show(ctx, step, { error: views.textOf(ctx).t("sign-in:enrol.expired") });
        }
        await deps.notifySecurityChange({
          userId: step.userId,
          type: "mfa.totp_added",
          change: "totpAdded",
          language: views.textOf(ctx).language,
          origin: requestOrigin(ctx),
        });
        const codes = (await backupCodes.remaining(step.userId)) === 0 ? await backupCodes.regenerate(step.userId) : null;
        views.render(ctx, "interactions/enrol-done", { title: views.textOf(ctx).t("sign-in:titles.authenticatorAppSetUp"), uid: uidOf(ctx), codes });
      });

      router.post("/enrol/continue", admit("enrolled"), async (ctx) => {
        await machine.finish(ctx, "enrolled", withVerified(stepOf(ctx), []), false);
      });

      router.post("/passkey/enrol/options", admit("enrolment"), async (ctx) => {
        ctx.body = await passkeys.registrationOptions(`enrol:${uidOf(ctx)}`, await userOf(stepOf(ctx)), undefined, await ceremonyAppOf(deps, ctx));
      });

      router.post("/passkey/enrol/verify", admit("enrolment"), async (ctx) => {
        const step = stepOf(ctx);
        const origin = requestOrigin(ctx);
        const name = defaultPasskeyName(origin.userAgent);
        const passkey = await passkeys.verifyRegistration(`enrol:${uidOf(ctx)}`, step.userId, ctx.request.body, name, await ceremonyAppOf(deps, ctx));
        // The passkey is stored only together with leaving the step that allowed it.
        const taken = await passkeys.savePasskey(passkey, (credential) => deps.signInSteps.takeWithCredential(uidOf(ctx), "enrolment", credential, new Date()));
        if (!taken) throw machine.wrongStep();
        await deps.notifySecurityChange({ userId: step.userId, type: "passkey.added", change: "passkeyAdded", language: views.textOf(ctx).language, origin });
        // Creating it needed user verification on the authenticator: it counts as a passkey check.
        await machine.handOver(ctx, withVerified(step, passkey.amr), true);
      });
    },
  };
}
