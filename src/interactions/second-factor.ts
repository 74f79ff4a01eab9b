import type Router from "@koa/router";
import type { Context } from "koa";
import { acrForMethods, mergeMethods } from "../auth/assurance.js";
import type { StepProgress, StepRow } from "../db/sign-in-steps.js";
import { AppError } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import { ceremonyAppOf } from "./ceremony-app.js";
import type { InteractionDependencies } from "./routes.js";
import { type Admit, interactionOf, type StepMachine } from "./step-machine.js";

/** The step's sign-in with `added` verified in this interaction. */
export function withVerified(step: StepRow, added: string[]): StepProgress {
  const amr = mergeMethods(step.amr, added);
  return { userId: step.userId, amr, freshAmr: mergeMethods(step.freshAmr, added), acr: acrForMethods(amr), remember: step.remember, authTime: step.authTime };
}

/**
 * Stage `second_factor`: after a password when the user has a second factor (policy), on step-up
 * when the session is below what the authorization needs, and before setting up a new factor.
 * The page offers what the step machine decided; the server accepts nothing else.
 */
export function secondFactorStep(
  deps: Pick<InteractionDependencies, "secondFactors" | "passkeys" | "provider" | "globalMinimumAcr" | "views">,
  machine: StepMachine,
) {
  const { secondFactors, passkeys, views } = deps;
  const stepOf = (ctx: Context) => interactionOf(ctx).step as StepRow;

  return {
    routes(router: Router, admit: Admit) {
      router.post("/mfa", admit("second_factor"), async (ctx) => {
        const step = stepOf(ctx);
        const factors = await secondFactors.factorsOf(step.userId);
        if (!factors.totp && factors.backupCodes === 0) throw new AppError("mfa.no_codes", "Use your passkey or security key.", 400);
        let added: string[];
        try {
          added = (await secondFactors.verifyCode(step.userId, bodyField(ctx.request.body, "code"), requestOrigin(ctx))).amr;
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          return machine.show(ctx, step, { error: views.textOf(ctx).errorMessage(error), status: error.status });
        }
        await machine.advance(ctx, "second_factor", withVerified(step, added));
      });

      router.post("/passkey/second-factor/options", admit("second_factor"), async (ctx) => {
        ctx.body = await passkeys.authenticationOptions(`second-factor:${interactionOf(ctx).details.uid}`, stepOf(ctx).userId);
      });

      router.post("/passkey/second-factor/verify", admit("second_factor"), async (ctx) => {
        const step = stepOf(ctx);
        // The challenge names the step's user: only their own passkey is accepted.
        const { amr } = await passkeys.verifyAuthentication(
          `second-factor:${interactionOf(ctx).details.uid}`,
          ctx.request.body,
          await ceremonyAppOf(deps, ctx),
        );
        await machine.advance(ctx, "second_factor", withVerified(step, amr), { json: true });
      });
    },
  };
}
