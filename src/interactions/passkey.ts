import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import type { StepRow } from "../db/sign-in-steps.js";
import { assertThat, badRequest } from "../errors.js";
import { requestOrigin } from "../http/request-origin.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import type { NewPasskey } from "../webauthn/passkey-service.js";
import { ceremonyAppOf } from "./ceremony-app.js";
import type { InteractionDependencies } from "./routes.js";
import { withVerified } from "./second-factor.js";
import { freshSignIn } from "./sign-in.js";
import { type Admit, interactionOf, type StepMachine } from "./step-machine.js";

/** How long "Not now" keeps the passkey offer away. */
const SNOOZE_MS = 30 * 24 * 3600 * 1000;

/** How long after the password sign-in its password manager may create a passkey without a dialog. */
export const AUTOMATIC_PASSKEY_WINDOW_MS = 60 * 1000;

const automaticWindowClosed = () =>
  badRequest("passkey.automatic_window_closed", "A passkey can be created automatically only right after signing in with a password.");

/**
 * An automatic passkey (conditional create, no user presence) is accepted only inside the sign-in
 * whose password was verified in this interaction, within a minute of it: a session alone, a
 * stale page or another interaction's options cannot make one without the user's knowledge.
 */
function assertAutomaticAllowed(step: StepRow, now: Date): void {
  assertThat(step.freshAmr.includes("pwd") && now.getTime() - step.startedAt.getTime() <= AUTOMATIC_PASSKEY_WINDOW_MS, automaticWindowClosed);
}

/**
 * The JSON side of the passkey ceremonies (views/static/passkey.js drives them): usernameless
 * sign-in (stage `login`, or `reverify` for "Use another account"), and stage `passkey_offer`
 * ("Create a passkey" or "Not now" after a password sign-in). Each verify answers `{ redirectTo }`.
 */
export function passkeyRoutes(
  router: Router,
  admit: Admit,
  deps: Pick<
    InteractionDependencies,
    "users" | "userQueries" | "passkeys" | "signInSteps" | "notifySecurityChange" | "events" | "provider" | "globalMinimumAcr" | "views"
  >,
  machine: StepMachine,
): void {
  const { passkeys } = deps;
  const uidOf = (ctx: Context) => interactionOf(ctx).details.uid;
  const stepOf = (ctx: Context) => interactionOf(ctx).step as StepRow;

  router.post("/passkey/authenticate/options", admit("login", "reverify"), async (ctx) => {
    ctx.body = await passkeys.authenticationOptions(`authentication:${uidOf(ctx)}`);
  });

  router.post("/passkey/authenticate/verify", admit("login", "reverify"), async (ctx) => {
    const { userId, amr } = await passkeys.verifyAuthentication(`authentication:${uidOf(ctx)}`, ctx.request.body, await ceremonyAppOf(deps, ctx));
    const remember = (ctx.request.body as { remember?: unknown }).remember === true;
    // A passkey with user verification is phishing-resistant MFA on its own.
    await machine.advance(ctx, interactionOf(ctx).stage, freshSignIn(userId, amr, ACR.passkey, remember), { json: true });
  });

  router.post("/passkey/register/options", admit("passkey_offer"), async (ctx) => {
    const user = await deps.users.findById(stepOf(ctx).userId);
    if (!user) throw badRequest("interaction.expired", "This sign-in page has expired. Go back to the app and start again.");
    ctx.body = await passkeys.registrationOptions(`registration:${uidOf(ctx)}`, user, undefined, await ceremonyAppOf(deps, ctx));
  });

  async function saveOffered(ctx: Context, passkey: NewPasskey, automatic: boolean) {
    const step = stepOf(ctx);
    const origin = requestOrigin(ctx);
    const taken = await passkeys.savePasskey(passkey, (credential) => deps.signInSteps.takeWithCredential(uidOf(ctx), "passkey_offer", credential, new Date()));
    if (!taken) throw machine.wrongStep();
    await deps.notifySecurityChange({ userId: step.userId, type: "passkey.added", change: "passkeyAdded", language: deps.views.textOf(ctx).language, origin });
    // The funnel (events funnel) tells the password manager's passkeys from the button's.
    await deps.events.record({ type: automatic ? "passkey_offer.automatic" : "passkey_offer.created", outcome: "success", userId: step.userId, ...origin });
    await machine.handOver(ctx, withVerified(step, []), true);
  }

  router.post("/passkey/register/verify", admit("passkey_offer"), async (ctx) => {
    const { userId } = stepOf(ctx);
    const name = defaultPasskeyName(requestOrigin(ctx).userAgent);
    await saveOffered(
      ctx,
      await passkeys.verifyRegistration(`registration:${uidOf(ctx)}`, userId, ctx.request.body, name, await ceremonyAppOf(deps, ctx)),
      false,
    );
  });

  // WebAuthn L3 conditional create (views/static/passkey.js, where getClientCapabilities() has conditionalCreate).
  router.post("/passkey/register/automatic/options", admit("passkey_offer"), async (ctx) => {
    const step = stepOf(ctx);
    assertAutomaticAllowed(step, new Date());
    const user = await deps.users.findById(step.userId);
    if (!user) throw badRequest("interaction.expired", "This sign-in page has expired. Go back to the app and start again.");
    ctx.body = await passkeys.conditionalRegistrationOptions(`registration:${uidOf(ctx)}`, user, await ceremonyAppOf(deps, ctx));
  });

  router.post("/passkey/register/automatic/verify", admit("passkey_offer"), async (ctx) => {
    const step = stepOf(ctx);
    assertAutomaticAllowed(step, new Date());
    const name = defaultPasskeyName(requestOrigin(ctx).userAgent);
    await saveOffered(
      ctx,
      await passkeys.verifyConditionalRegistration(`registration:${uidOf(ctx)}`, step.userId, ctx.request.body, name, await ceremonyAppOf(deps, ctx)),
      true,
    );
  });

  router.post("/passkey/skip", admit("passkey_offer"), async (ctx) => {
    const step = stepOf(ctx);
    await deps.userQueries.snoozePasskeyPrompt(step.userId, new Date(Date.now() + SNOOZE_MS));
    await deps.events.record({ type: "passkey_offer.skipped", outcome: "success", userId: step.userId, ...requestOrigin(ctx) });
    await machine.finish(ctx, "passkey_offer", withVerified(step, []), false);
  });
}
