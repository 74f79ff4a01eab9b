import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import type { SignInAttempt } from "../db/rate-limits.js";
import { AppError } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import { appOnPage } from "./app-on-page.js";
import type { InteractionDetails } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { freshSignIn } from "./sign-in.js";
import { interactionOf, type StepMachine } from "./step-machine.js";

/** The sign-in page: a passkey (usernameless), or email + password as the fallback. */
export function loginStep(
  deps: Pick<InteractionDependencies, "provider" | "users" | "views" | "signInThrottle" | "events" | "signUp" | "deviceCookie">,
  machine: StepMachine,
) {
  const { users, views, signInThrottle } = deps;

  async function show(ctx: Context, details: InteractionDetails, extra: { email?: string; error?: string } = {}, status = 200) {
    const loginHint = typeof details.params.login_hint === "string" ? details.params.login_hint : "";
    const { t } = views.textOf(ctx);
    const app = appOnPage(await deps.provider.Client.find(String(details.params.client_id)), t);
    views.render(
      ctx,
      "interactions/login",
      {
        title: app ? t("common:signInTo", { app: app.name }) : t("common:signIn"),
        logo: app?.logo,
        uid: details.uid,
        email: extra.email ?? loginHint,
        error: extra.error,
        signUpOpen: deps.signUp.mode() === "open",
      },
      status,
      { imageOrigins: app?.imageOrigins },
    );
  }

  return {
    show: (ctx: Context, details: InteractionDetails) => show(ctx, details),

    /** Stage `login`, or `reverify` (the password form of "Confirm it's you"). */
    async submit(ctx: Context) {
      const { details, stage } = interactionOf(ctx);
      const email = bodyField(ctx.request.body, "email");
      const password = bodyField(ctx.request.body, "password");
      let attempt: SignInAttempt;
      try {
        // Counted before the password is checked, so a burst checks at most the allowance (issue #10).
        attempt = await signInThrottle.consume(email, ctx.ip, deps.deviceCookie.knownFor(ctx, email));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        await deps.events.record({ type: "sign_in.locked_out", outcome: "refused", ...requestOrigin(ctx) });
        await show(ctx, details, { email, error: views.textOf(ctx).errorMessage(error) }, error.status);
        return;
      }
      // One message for unknown email and wrong password: no account enumeration.
      const accountId = email && password ? await users.verifyPassword(email, password) : null;
      if (!accountId) {
        // Not tied to an account: the record must not tell which addresses exist.
        await deps.events.record({ type: "sign_in", outcome: "failure", ...requestOrigin(ctx), details: { amr: "pwd" } });
        await show(ctx, details, { email, error: views.textOf(ctx).t("sign-in:login.wrongPassword") }, 400);
        return;
      }
      await signInThrottle.succeeded(attempt);
      const remember = bodyField(ctx.request.body, "remember") === "yes";
      await machine.advance(ctx, stage, freshSignIn(accountId, ["pwd"], ACR.password, remember));
    },
  };
}
