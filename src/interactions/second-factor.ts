import type Router from "@koa/router";
import type { Context } from "koa";
import { acrRequestOf, claimsAcrOf, requiredRank } from "../auth/acr-request.js";
import { ACR, acrForMethods, lowestRequestedRank, mergeMethods, rankOf } from "../auth/assurance.js";
import { AppError, badRequest } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import { hasSecondFactor, type SecondFactors } from "../mfa/second-factor-service.js";
import { finishInteraction, type InteractionDetails, loadInteraction } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { offerPasskeyOrFinish, signInResult, type VerifiedSignIn } from "./sign-in.js";

const UNREACHABLE = Number.POSITIVE_INFINITY;

/** The sign-in waiting for its second factor, per interaction. */
export const pendingKey = (uid: string) => `second-factor:${uid}`;

const expiredStep = () => badRequest("mfa.no_pending_sign_in", "This page has expired. Go back to the app and sign in again.");

/** What this authorization requires: the client's minimum and the relying party's request. */
export async function requirementOf(deps: InteractionDependencies, details: InteractionDetails) {
  const client = await deps.provider.Client.find(String(details.params.client_id));
  const clientMinimum = client?.metadata().idp_minimum_acr as string | undefined;
  // The operator's rules: the global minimum and the client's. A user short of them enrols a factor.
  const policyRank = Math.max(rankOf(deps.globalMinimumAcr ?? undefined), rankOf(clientMinimum));
  const request = acrRequestOf(details.params.acr_values, claimsAcrOf(details.params.claims));
  // An essential request naming only values we do not issue can never be met.
  if (request.essential && lowestRequestedRank(request.values) === 0) return { rank: UNREACHABLE, mustMeet: true, policyRank };
  const rank = Math.max(policyRank, requiredRank(request, undefined));
  return { rank, mustMeet: request.essential || policyRank > 0, policyRank };
}

/** Which second factors can lift a sign-in to `rank`: only WebAuthn reaches the passkey level. */
function usableFactors(factors: SecondFactors, rank: number) {
  if (rank === UNREACHABLE) return { passkey: false, codes: false };
  const passkeyOnly = rank >= rankOf(ACR.passkey);
  return { passkey: factors.passkeys > 0, codes: !passkeyOnly && (factors.totp || factors.backupCodes > 0) };
}

/** "Set up a second factor" (routes in enrolment.ts): a passkey always; an authenticator app when MFA is enough. */
export function showEnrolment(deps: InteractionDependencies, ctx: Context, uid: string, rank: number, error?: string) {
  deps.views.render(ctx, "interactions/enrol", { title: "Set up a second factor", uid, totp: rank < rankOf(ACR.passkey), error }, error ? 400 : 200);
}

/**
 * The second step of a sign-in: after a password when the user has a second factor (policy), and
 * on step-up when the session is below what the client or the relying party requires.
 */
export function secondFactorStep(deps: InteractionDependencies) {
  const { provider, views, interactionState, secondFactors, passkeys } = deps;

  async function render(ctx: Context, uid: string, userId: string, rank: number, error?: string, status = 200) {
    const usable = usableFactors(await secondFactors.factorsOf(userId), rank);
    views.render(ctx, "interactions/second-factor", { title: "Confirm it's you", uid, ...usable, error }, status);
  }

  async function finish(ctx: Context, details: InteractionDetails, pending: VerifiedSignIn, added: string[]) {
    const amr = mergeMethods(pending.amr, added);
    const signIn = { ...pending, amr, acr: acrForMethods(amr) };
    const user = await deps.users.findById(signIn.userId);
    if (!user) return finishInteraction(ctx, provider, { error: "login_required", error_description: "The account is gone." });
    await offerPasskeyOrFinish(ctx, deps, details, user, signIn);
  }

  async function takePending(uid: string): Promise<VerifiedSignIn> {
    const pending = await interactionState.findPendingLogin(pendingKey(uid));
    if (!pending) throw expiredStep();
    return pending;
  }

  return {
    /**
     * Asks for a second factor when the user has one that can reach the required level; otherwise
     * continues (or, when the level is required, returns `unmet_authentication_requirements`).
     */
    async begin(
      ctx: Context,
      details: InteractionDetails,
      signIn: VerifiedSignIn,
      afterPassword: boolean,
      /** Ask for a factor even when the level is met (a risky request); without one, `orSignInAgain`. */
      force = false,
      orSignInAgain?: () => void,
    ) {
      const requirement = await requirementOf(deps, details);
      const factors = await secondFactors.factorsOf(signIn.userId);
      const usable = usableFactors(factors, requirement.rank);
      if (force && !usable.passkey && !usable.codes && orSignInAgain) return orSignInAgain();
      // Policy: a password alone never signs in a user who has a second factor.
      const needed = force || (afterPassword && hasSecondFactor(factors)) || rankOf(signIn.acr) < requirement.rank;
      if (!needed) {
        const user = await deps.users.findById(signIn.userId);
        if (!user) return finishInteraction(ctx, provider, { error: "login_required", error_description: "The account is gone." });
        return offerPasskeyOrFinish(ctx, deps, details, user, signIn);
      }
      if (!usable.passkey && !usable.codes) {
        // Short of the operator's minimum: guided through setting up a factor that reaches it.
        if (rankOf(signIn.acr) < requirement.rank && requirement.policyRank >= requirement.rank) {
          await interactionState.putPendingLogin(pendingKey(details.uid), signIn, new Date(Date.now() + deps.interactionSeconds * 1000));
          return showEnrolment(deps, ctx, details.uid, requirement.rank);
        }
        if (rankOf(signIn.acr) < requirement.rank && requirement.mustMeet) {
          return finishInteraction(ctx, provider, {
            error: "unmet_authentication_requirements",
            error_description: "The sign-in could not reach the authentication level this application requires.",
          });
        }
        const user = await deps.users.findById(signIn.userId);
        if (!user) return finishInteraction(ctx, provider, { error: "login_required", error_description: "The account is gone." });
        return offerPasskeyOrFinish(ctx, deps, details, user, signIn);
      }
      await interactionState.putPendingLogin(pendingKey(details.uid), signIn, new Date(Date.now() + deps.interactionSeconds * 1000));
      await render(ctx, details.uid, signIn.userId, requirement.rank);
    },

    routes(router: Router) {
      router.post("/mfa", async (ctx: Context) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await takePending(details.uid);
        const requirement = await requirementOf(deps, details);
        const code = bodyField(ctx.request.body, "code");
        if (!usableFactors(await secondFactors.factorsOf(pending.userId), requirement.rank).codes) {
          throw badRequest("mfa.passkey_required", "This application requires a passkey or security key.");
        }
        let added: string[];
        try {
          added = (await secondFactors.verifyCode(pending.userId, code, requestOrigin(ctx))).amr;
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          return render(ctx, details.uid, pending.userId, requirement.rank, error.message, error.status);
        }
        await interactionState.takePendingLogin(pendingKey(details.uid));
        await finish(ctx, details, pending, added);
      });

      router.post("/passkey/second-factor/options", async (ctx: Context) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await takePending(details.uid);
        ctx.body = await passkeys.authenticationOptions(`second-factor:${details.uid}`, pending.userId);
      });

      router.post("/passkey/second-factor/verify", async (ctx: Context) => {
        const details = await loadInteraction(ctx, provider);
        const pending = await takePending(details.uid);
        const { amr } = await passkeys.verifyAuthentication(`second-factor:${details.uid}`, ctx.request.body);
        await interactionState.takePendingLogin(pendingKey(details.uid));
        const merged = mergeMethods(pending.amr, amr);
        const signIn = { ...pending, amr: merged, acr: acrForMethods(merged) };
        ctx.body = { redirectTo: await signInResult(ctx, deps, signIn) };
      });
    },
  };
}
