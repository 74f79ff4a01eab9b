import type { Context } from "koa";
import type Provider from "oidc-provider";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { NewDeviceNotice } from "../audit/security-notifier.js";
import { ACR } from "../auth/assurance.js";
import type { DeviceCookie } from "../auth/device-cookie.js";
import type { RiskAssessor } from "../auth/risk-assessor.js";
import type { StepProgress } from "../db/sign-in-steps.js";
import { requestOrigin } from "../http/request-origin.js";
import type { Views } from "../http/views.js";
import type { UserLanguage } from "../users/user-language.js";
import { type InteractionDetails, saveInteractionResult } from "./interaction.js";

export interface SignInCompletion {
  provider: Provider;
  deviceCookie: DeviceCookie;
  events: SecurityEventLog;
  risk: RiskAssessor;
  noticeNewDevice: NewDeviceNotice;
  views: Pick<Views, "textOf">;
  userLanguage: Pick<UserLanguage, "remember">;
}

const DEVICE_PROOFS = new Set(["pwd", "hwk", "swk"]);

/** A sign-in verified from scratch in this interaction with `amr`. */
export const freshSignIn = (userId: string, amr: string[], acr: string, remember: boolean): StepProgress => ({
  userId,
  amr,
  freshAmr: amr,
  acr,
  remember,
  authTime: null,
});

/**
 * Hands a verified sign-in of `user` (read once by the caller) to oidc-provider, recorded and
 * scored for risk; returns where the browser goes next.
 */
export async function signInResult(
  ctx: Context,
  deps: SignInCompletion,
  details: InteractionDetails,
  signIn: StepProgress,
  user: { email: string; language?: string | null },
): Promise<string> {
  const request = { userId: signIn.userId, ...requestOrigin(ctx) };
  // Mails sent outside this user's requests (a sign-in elsewhere, an operator's recovery) speak the language of this one.
  const { language } = deps.views.textOf(ctx);
  await deps.userLanguage.remember({ id: signIn.userId, language: user.language }, language);
  const { newDevice } = await deps.risk.signIn({ ...request, email: user.email });
  if (newDevice) await deps.noticeNewDevice(signIn.userId, request, language);
  await deps.events.record({ type: "sign_in", outcome: "success", ...request, details: { acr: signIn.acr, amr: signIn.amr.join(" ") } });
  // Nothing verified afresh (a step-up that continued at the session's level): auth_time stays as it was.
  const ts = signIn.freshAmr.length === 0 && signIn.authTime !== null ? signIn.authTime : undefined;
  // Only a password or passkey verified in this interaction makes a browser a known device (its own password allowance);
  // a session carried over from elsewhere (a stolen cookie) does not.
  if (signIn.freshAmr.some((method) => DEVICE_PROOFS.has(method))) deps.deviceCookie.remember(ctx, user.email);
  return saveInteractionResult(details, { login: { accountId: signIn.userId, amr: signIn.amr, acr: signIn.acr, remember: signIn.remember, ts } });
}

/** The signed-in session's sign-in, to step up or confirm again; nothing of it was verified in this interaction. */
export async function currentSignIn(provider: Provider, details: InteractionDetails): Promise<StepProgress> {
  const session = details.session as { accountId: string; cookie?: string; acr?: string; amr?: string[] };
  const stored = session.cookie ? ((await provider.Session.find(session.cookie)) as { transient?: boolean; loginTs?: number } | undefined) : undefined;
  return {
    userId: session.accountId,
    amr: session.amr ?? [],
    freshAmr: [],
    acr: session.acr ?? ACR.password,
    // "Keep me signed in" stays as it was.
    remember: stored?.transient !== true,
    authTime: stored?.loginTs ?? null,
  };
}
