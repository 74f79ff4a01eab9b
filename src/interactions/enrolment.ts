import type Router from "@koa/router";
import { ACR, acrForMethods, mergeMethods, rankOf } from "../auth/assurance.js";
import { badRequest } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import { loadInteraction } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { pendingKey, requirementOf, showEnrolment } from "./second-factor.js";
import { signInResult, type VerifiedSignIn } from "./sign-in.js";

const expiredStep = () => badRequest("mfa.no_pending_sign_in", "This page has expired. Go back to the app and sign in again.");

/**
 * Guided set-up of a second factor inside a sign-in, for a user short of the operator's minimum
 * (global or the client's): a passkey (reaches every level) or an authenticator app (MFA). The
 * sign-in continues at the level the new factor reaches; every set-up is recorded and mailed.
 */
export function enrolmentStep(deps: InteractionDependencies) {
  const { provider, views, interactionState, totp, backupCodes, passkeys } = deps;

  async function pendingOf(uid: string): Promise<VerifiedSignIn> {
    const pending = await interactionState.findPendingLogin(pendingKey(uid));
    if (!pending) throw expiredStep();
    return pending;
  }

  const upgraded = (pending: VerifiedSignIn, added: string[]) => {
    const amr = mergeMethods(pending.amr, added);
    return { userId: pending.userId, remember: pending.remember, amr, acr: acrForMethods(amr) };
  };

  return {
    routes(router: Router) {
      router.post("/enrol/totp", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await pendingOf(details.uid);
        if ((await requirementOf(deps, details)).rank >= rankOf(ACR.passkey)) throw badRequest("mfa.passkey_required", "This application requires a passkey.");
        const user = await deps.users.findById(pending.userId);
        if (!user) throw expiredStep();
        const enrolment = await totp.startEnrolment(user);
        views.render(ctx, "account/totp-enrol", {
          title: "Set up an authenticator app",
          ...enrolment,
          confirmAction: `/interaction/${details.uid}/enrol/totp/confirm`,
          cancelHref: `/interaction/${details.uid}`,
        });
      });

      router.post("/enrol/totp/confirm", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await pendingOf(details.uid);
        const code = bodyField(ctx.request.body, "code").replace(/\s/g, "");
        if (!(await totp.confirmEnrolment(pending.userId, code))) {
          // The unconfirmed secret stays unused; starting again replaces it.
          return showEnrolment(deps, ctx, details.uid, (await requirementOf(deps, details)).rank, "That code did not match. Start the set-up again.");
        }
        await deps.notifySecurityChange({
          userId: pending.userId,
          type: "mfa.totp_added",
          change: "An authenticator app was set up",
          origin: requestOrigin(ctx),
        });
        const codes = (await backupCodes.remaining(pending.userId)) === 0 ? await backupCodes.regenerate(pending.userId) : null;
        await interactionState.putPendingLogin(pendingKey(details.uid), upgraded(pending, ["otp"]), new Date(Date.now() + deps.interactionSeconds * 1000));
        views.render(ctx, "interactions/enrol-done", { title: "Authenticator app set up", uid: details.uid, codes });
      });

      router.post("/enrol/continue", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await interactionState.takePendingLogin(pendingKey(details.uid));
        if (!pending) throw expiredStep();
        ctx.status = 303;
        ctx.redirect(await signInResult(ctx, deps, pending));
      });

      router.post("/passkey/enrol/options", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        const user = await deps.users.findById((await pendingOf(details.uid)).userId);
        if (!user) throw expiredStep();
        ctx.body = await passkeys.registrationOptions(`enrol:${details.uid}`, user);
      });

      router.post("/passkey/enrol/verify", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await pendingOf(details.uid);
        const origin = requestOrigin(ctx);
        const passkey = await passkeys.verifyRegistration(`enrol:${details.uid}`, pending.userId, ctx.request.body, defaultPasskeyName(origin.userAgent));
        await passkeys.savePasskey(passkey);
        await deps.notifySecurityChange({ userId: pending.userId, type: "passkey.added", change: "A passkey was added", origin });
        await interactionState.takePendingLogin(pendingKey(details.uid));
        // Creating it needed user verification on the authenticator: it counts as a passkey check.
        ctx.body = { redirectTo: await signInResult(ctx, deps, upgraded(pending, passkey.amr)) };
      });
    },
  };
}
