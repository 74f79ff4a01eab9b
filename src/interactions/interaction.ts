import type { Context } from "koa";
import type Provider from "oidc-provider";
import { errors } from "oidc-provider";
import { assertThat, badRequest } from "../errors.js";
import { uiLocalesOf } from "../i18n/languages.js";

export type InteractionDetails = Awaited<ReturnType<Provider["interactionDetails"]>>;

/** Loads the interaction once; an expired or foreign one becomes a friendly error page. */
export async function loadInteraction(ctx: Context, provider: Provider): Promise<InteractionDetails> {
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    throw ended();
  }
  assertThat(
    details.uid === ctx.params.uid,
    badRequest("interaction.mismatch", "This sign-in page belongs to another sign-in. Go back to the app and start again."),
  );
  // Every page of this sign-in speaks the language the app asked for (OIDC Core §3.1.2.1 ui_locales).
  ctx.state.uiLocales = uiLocalesOf(details.params.ui_locales);
  return details;
}

export type InteractionResult = Parameters<Provider["interactionResult"]>[2];

// `context`: pages word it as errors:interaction.expired_used (i18next context).
const ended = () =>
  badRequest("interaction.expired", "This sign-in page has expired or was already used. Go back to the app and start again.", { context: "used" });

/**
 * Stores the interaction's result and returns where the browser resumes: what
 * `provider.interactionResult` does, on the interaction this request loaded (it would read it and
 * its session again). The adapter refuses to store a result into an interaction that ended meanwhile.
 * Consent merges with the sign-in submitted earlier in the same authorization request (panva's
 * example does the same); otherwise `prompt=login` would look unanswered and ask again forever.
 */
export async function saveInteractionResult(details: InteractionDetails, result: InteractionResult, merge = false): Promise<string> {
  details.result = merge && !("error" in result) ? { ...details.lastSubmission, ...result } : result;
  try {
    await details.save(details.exp - Math.floor(Date.now() / 1000));
  } catch (error) {
    if (error instanceof errors.SessionNotFound) throw ended();
    throw error;
  }
  return details.returnTo;
}

/** Ends the interaction with a result and sends the browser back to the authorization endpoint. */
export async function finishInteraction(ctx: Context, details: InteractionDetails, result: InteractionResult, merge = false) {
  const redirectTo = await saveInteractionResult(details, result, merge);
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
