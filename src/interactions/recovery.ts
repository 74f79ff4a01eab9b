import type { Context } from "koa";
import { AppError } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import type { InteractionDetails } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";

/** "Lost your passkey?" inside an authorization: the address form, and the same answer for every address. */
export function recoveryStep(deps: Pick<InteractionDependencies, "views" | "recovery" | "recoveryLinkMinutes" | "deviceCookie">) {
  const render = (ctx: Context, details: InteractionDetails, data: Record<string, unknown>, status = 200) =>
    deps.views.render(
      ctx,
      "interactions/recover",
      { title: deps.views.textOf(ctx).t("sign-in:titles.recover"), uid: details.uid, email: "", minutes: deps.recoveryLinkMinutes, ...data },
      status,
    );

  return {
    show: (ctx: Context, details: InteractionDetails) => render(ctx, details, {}),

    async submit(ctx: Context, details: InteractionDetails) {
      const typed = bodyField(ctx.request.body, "email");
      try {
        const email = await deps.recovery.requestLink(typed, requestOrigin(ctx), deps.deviceCookie.knownFor(ctx, typed), deps.views.textOf(ctx).language);
        render(ctx, details, { sent: true, email });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        render(ctx, details, { email: typed, error: deps.views.textOf(ctx).errorMessage(error) }, error.status);
      }
    },
  };
}
