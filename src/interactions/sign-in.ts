import type { Context } from "koa";
import type Provider from "oidc-provider";
import type { CredentialQueries } from "../db/credentials.js";
import type { InteractionStateQueries } from "../db/interaction-state.js";
import type { UserRow } from "../db/users.js";
import type { Views } from "../http/views.js";
import type { InteractionDetails } from "./interaction.js";

export interface VerifiedSignIn {
  userId: string;
  amr: string[];
  acr: string;
  /** "Keep me signed in": a persistent session cookie with the longer lifetime, on this device only. */
  remember: boolean;
}

/** Hands a verified sign-in to oidc-provider; returns where the browser goes next. */
export function signInResult(ctx: Context, provider: Provider, signIn: VerifiedSignIn): Promise<string> {
  return provider.interactionResult(
    ctx.req,
    ctx.res,
    { login: { accountId: signIn.userId, amr: signIn.amr, acr: signIn.acr, remember: signIn.remember } },
    { mergeWithLastSubmission: false },
  );
}

/**
 * After a password sign-in: a user without a passkey (and who did not say "Not now" lately) is
 * offered to create one before continuing; the verified sign-in waits server-side meanwhile.
 */
export async function offerPasskeyOrFinish(
  ctx: Context,
  deps: { provider: Provider; views: Views; credentials: CredentialQueries; interactionState: InteractionStateQueries; interactionSeconds: number },
  details: InteractionDetails,
  user: UserRow,
  signIn: VerifiedSignIn,
): Promise<void> {
  const snoozed = user.passkeyPromptSnoozedUntil !== null && user.passkeyPromptSnoozedUntil > new Date();
  const hasPasskey = (await deps.credentials.listCredentialsOfUser(user.id)).length > 0;
  if (hasPasskey || snoozed) {
    ctx.status = 303;
    ctx.redirect(await signInResult(ctx, deps.provider, signIn));
    return;
  }
  await deps.interactionState.putPendingLogin(details.uid, signIn, new Date(Date.now() + deps.interactionSeconds * 1000));
  deps.views.render(ctx, "interactions/passkey-prompt", { title: "Create a passkey", uid: details.uid });
}
