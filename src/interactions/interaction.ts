import type { Context } from "koa";
import type Provider from "oidc-provider";
import { assertThat, badRequest } from "../errors.js";

export type InteractionDetails = Awaited<ReturnType<Provider["interactionDetails"]>>;

/** Loads the interaction once; an expired or foreign one becomes a friendly error page. */
export async function loadInteraction(ctx: Context, provider: Provider): Promise<InteractionDetails> {
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    throw badRequest("interaction.expired", "This sign-in page has expired or was already used. Go back to the app and start again.");
  }
  assertThat(
    details.uid === ctx.params.uid,
    badRequest("interaction.mismatch", "This sign-in page belongs to another sign-in. Go back to the app and start again."),
  );
  return details;
}

/**
 * Ends the interaction with a result and sends the browser back to the authorization endpoint.
 * Consent merges with the sign-in submitted earlier in the same authorization request (panva's
 * example does the same); otherwise `prompt=login` would look unanswered and ask again forever.
 */
export async function finishInteraction(ctx: Context, provider: Provider, result: Parameters<Provider["interactionResult"]>[2], merge = false) {
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
