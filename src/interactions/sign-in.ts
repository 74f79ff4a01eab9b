import type { Context } from "koa";
import type Provider from "oidc-provider";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { NewDeviceNotice } from "../audit/security-notifier.js";
import { ACR } from "../auth/assurance.js";
import type { DeviceCookie } from "../auth/device-cookie.js";
import type { RiskAssessor } from "../auth/risk-assessor.js";
import type { CredentialQueries } from "../db/credentials.js";
import type { InteractionStateQueries } from "../db/interaction-state.js";
import type { UserRow } from "../db/users.js";
import { requestOrigin } from "../http/request-origin.js";
import type { Views } from "../http/views.js";
import type { InteractionDetails } from "./interaction.js";

export interface VerifiedSignIn {
  userId: string;
  amr: string[];
  acr: string;
  /** "Keep me signed in": a persistent session cookie with the longer lifetime, on this device only. */
  remember: boolean;
}

export interface SignInCompletion {
  provider: Provider;
  deviceCookie: DeviceCookie;
  events: SecurityEventLog;
  risk: RiskAssessor;
  noticeNewDevice: NewDeviceNotice;
}

const DEVICE_PROOFS = new Set(["pwd", "hwk", "swk"]);

/** Hands a verified sign-in to oidc-provider (recorded, and scored for risk); returns where the browser goes next. */
export async function signInResult(ctx: Context, deps: SignInCompletion, signIn: VerifiedSignIn): Promise<string> {
  const request = { userId: signIn.userId, ...requestOrigin(ctx) };
  const { newDevice } = await deps.risk.signIn(request);
  if (newDevice) await deps.noticeNewDevice(signIn.userId, request);
  await deps.events.record({ type: "sign_in", outcome: "success", ...request, details: { acr: signIn.acr, amr: signIn.amr.join(" ") } });
  // Only a verified password or passkey makes a browser a known device (its own password allowance).
  if (signIn.amr.some((method) => DEVICE_PROOFS.has(method))) await deps.deviceCookie.remember(ctx, signIn.userId);
  return deps.provider.interactionResult(
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
  deps: SignInCompletion & { views: Views; credentials: CredentialQueries; interactionState: InteractionStateQueries; interactionSeconds: number },
  details: InteractionDetails,
  user: UserRow,
  signIn: VerifiedSignIn,
): Promise<void> {
  const snoozed = user.passkeyPromptSnoozedUntil !== null && user.passkeyPromptSnoozedUntil > new Date();
  const hasPasskey = (await deps.credentials.listCredentialsOfUser(user.id)).length > 0;
  if (hasPasskey || snoozed) {
    ctx.status = 303;
    ctx.redirect(await signInResult(ctx, deps, signIn));
    return;
  }
  await deps.interactionState.putPendingLogin(details.uid, signIn, new Date(Date.now() + deps.interactionSeconds * 1000));
  deps.views.render(ctx, "interactions/passkey-prompt", { title: "Create a passkey", uid: details.uid });
}

/** The signed-in session's sign-in, to add a factor to or confirm again (keeping "Keep me signed in" as it was). */
export async function currentSignIn(provider: Provider, details: InteractionDetails): Promise<VerifiedSignIn> {
  const session = details.session as { accountId: string; cookie?: string; acr?: string; amr?: string[] };
  const stored = session.cookie ? await provider.Session.find(session.cookie) : undefined;
  return {
    userId: session.accountId,
    amr: session.amr ?? [],
    acr: session.acr ?? ACR.password,
    remember: (stored as { transient?: boolean } | undefined)?.transient !== true,
  };
}
