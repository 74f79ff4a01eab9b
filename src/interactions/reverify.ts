import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import type { StepRow } from "../db/sign-in-steps.js";
import { ceremonyAppOf } from "./ceremony-app.js";
import type { InteractionDetails } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { freshSignIn } from "./sign-in.js";
import { type Admit, interactionOf, type StepMachine } from "./step-machine.js";

// Reasons that ask the signed-in user to prove it is still them (not to pick an account).
const FRESHNESS_REASONS = new Set(["max_age", "login_prompt", "passkey_policy"]);
const IDENTITY_REASONS = new Set(["no_session", "id_token_hint", "claims_id_token_sub_value"]);

/** `max_age` passed or `prompt=login` while someone is signed in (and no other account is asked for). */
export const needsFreshCheck = (details: InteractionDetails) =>
  Boolean(details.session?.accountId) &&
  details.prompt.reasons.some((reason) => FRESHNESS_REASONS.has(reason)) &&
  !details.prompt.reasons.some((reason) => IDENTITY_REASONS.has(reason));

/**
 * Stage `reverify`, "Confirm it's you": the step's user checks again from scratch — one of their
 * own passkeys, or their password (the form posts to /login, then the second factor as always).
 * Entered for `max_age`/`prompt=login`, and before setting up a factor on a step-up. "Use another
 * account" shows the whole sign-in page instead.
 */
export function reverifyStep(deps: Pick<InteractionDependencies, "passkeys" | "provider" | "globalMinimumAcr">, machine: StepMachine) {
  const { passkeys } = deps;
  const stepOf = (ctx: Context) => interactionOf(ctx).step as StepRow;

  return {
    routes(router: Router, admit: Admit) {
      router.post("/passkey/reverify/options", admit("reverify"), async (ctx) => {
        ctx.body = await passkeys.authenticationOptions(`reverify:${interactionOf(ctx).details.uid}`, stepOf(ctx).userId);
      });

      router.post("/passkey/reverify/verify", admit("reverify"), async (ctx) => {
        // The challenge names the step's user: only their own passkey is accepted.
        const { userId, amr } = await passkeys.verifyAuthentication(
          `reverify:${interactionOf(ctx).details.uid}`,
          ctx.request.body,
          await ceremonyAppOf(deps, ctx),
        );
        await machine.advance(ctx, "reverify", freshSignIn(userId, amr, ACR.passkey, stepOf(ctx).remember), { json: true });
      });
    },
  };
}
