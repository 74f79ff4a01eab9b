import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import { badRequest } from "../errors.js";
import { type InteractionDetails, loadInteraction } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { currentSignIn, signInResult } from "./sign-in.js";

// Reasons that ask the signed-in user to prove it is still them (not to pick an account).
const FRESHNESS_REASONS = new Set(["max_age", "login_prompt"]);
const IDENTITY_REASONS = new Set(["no_session", "id_token_hint", "claims_id_token_sub_value"]);

/** `max_age` passed or `prompt=login` while someone is signed in (and no other account is asked for). */
export const needsFreshCheck = (details: InteractionDetails) =>
  Boolean(details.session?.accountId) &&
  details.prompt.reasons.some((reason) => FRESHNESS_REASONS.has(reason)) &&
  !details.prompt.reasons.some((reason) => IDENTITY_REASONS.has(reason));

/**
 * "Confirm it's you" for the signed-in user: a fresh passkey check with one of their own
 * passkeys, or their password (then the second factor, as always). "Use another account" shows
 * the whole sign-in page instead.
 */
export function reverifyStep(deps: InteractionDependencies) {
  const { provider, views, passkeys } = deps;
  const accountOf = (details: InteractionDetails) => (details.session as { accountId: string }).accountId;

  return {
    async show(ctx: Context, details: InteractionDetails) {
      const user = await deps.users.findById(accountOf(details));
      const factors = await deps.secondFactors.factorsOf(accountOf(details));
      views.render(ctx, "interactions/reverify", {
        title: "Confirm it's you",
        uid: details.uid,
        email: user?.email ?? "",
        passkey: factors.passkeys > 0,
        password: Boolean(user?.passwordHash),
        // Confirming keeps "Keep me signed in" as it was.
        remember: (await currentSignIn(provider, details)).remember,
      });
    },

    routes(router: Router) {
      router.post("/passkey/reverify/options", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        if (!details.session?.accountId) throw badRequest("interaction.no_session", "Sign in first.");
        ctx.body = await passkeys.authenticationOptions(`reverify:${details.uid}`, accountOf(details));
      });

      router.post("/passkey/reverify/verify", async (ctx) => {
        const details = await loadInteraction(ctx, provider);
        if (!details.session?.accountId) throw badRequest("interaction.no_session", "Sign in first.");
        // The challenge names the signed-in user: only their own passkey is accepted.
        const { userId, amr } = await passkeys.verifyAuthentication(`reverify:${details.uid}`, ctx.request.body);
        const { remember } = await currentSignIn(provider, details);
        ctx.body = { redirectTo: await signInResult(ctx, deps, { userId, amr, acr: ACR.passkey, remember }) };
      });
    },
  };
}
