import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import type { StepRow } from "../db/sign-in-steps.js";
import { badRequest } from "../errors.js";
import { requestOrigin } from "../http/request-origin.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import type { InteractionDependencies } from "./routes.js";
import { withVerified } from "./second-factor.js";
import { freshSignIn } from "./sign-in.js";
import { type Admit, interactionOf, type StepMachine } from "./step-machine.js";

/** How long "Not now" keeps the passkey offer away. */
const SNOOZE_MS = 30 * 24 * 3600 * 1000;

/**
 * The JSON side of the passkey ceremonies (views/static/passkey.js drives them): usernameless
 * sign-in (stage `login`, or `reverify` for "Use another account"), and stage `passkey_offer`
 * ("Create a passkey" or "Not now" after a password sign-in). Each verify answers `{ redirectTo }`.
 */
export function passkeyRoutes(
  router: Router,
  admit: Admit,
  deps: Pick<InteractionDependencies, "users" | "userQueries" | "passkeys" | "signInSteps" | "notifySecurityChange" | "events" | "views">,
  machine: StepMachine,
): void {
  const { passkeys } = deps;
  const uidOf = (ctx: Context) => interactionOf(ctx).details.uid;
  const stepOf = (ctx: Context) => interactionOf(ctx).step as StepRow;

  router.post("/passkey/authenticate/options", admit("login", "reverify"), async (ctx) => {
    ctx.body = await passkeys.authenticationOptions(`authentication:${uidOf(ctx)}`);
  });

  router.post("/passkey/authenticate/verify", admit("login", "reverify"), async (ctx) => {
    const { userId, amr } = await passkeys.verifyAuthentication(`authentication:${uidOf(ctx)}`, ctx.request.body);
    const remember = (ctx.request.body as { remember?: unknown }).remember === true;
    // A passkey with user verification is phishing-resistant MFA on its own.
    await machine.advance(ctx, interactionOf(ctx).stage, freshSignIn(userId, amr, ACR.passkey, remember), { json: true });
  });

  router.post("/passkey/register/options", admit("passkey_offer"), async (ctx) => {
    const user = await deps.users.findById(stepOf(ctx).userId);
    if (!user) throw badRequest("interaction.expired", "This sign-in page has expired. Go back to the app and start again.");
    ctx.body = await passkeys.registrationOptions(`registration:${uidOf(ctx)}`, user);
  });

  router.post("/passkey/register/verify", admit("passkey_offer"), async (ctx) => {
    const step = stepOf(ctx);
    const origin = requestOrigin(ctx);
    const passkey = await passkeys.verifyRegistration(`registration:${uidOf(ctx)}`, step.userId, ctx.request.body, defaultPasskeyName(origin.userAgent));
    const taken = await passkeys.savePasskey(passkey, (credential) => deps.signInSteps.takeWithCredential(uidOf(ctx), "passkey_offer", credential, new Date()));
    if (!taken) throw machine.wrongStep();
    await deps.notifySecurityChange({ userId: step.userId, type: "passkey.added", change: "passkeyAdded", language: deps.views.textOf(ctx).language, origin });
    await deps.events.record({ type: "passkey_offer.created", outcome: "success", userId: step.userId, ...origin });
    await machine.handOver(ctx, withVerified(step, []), true);
  });

  router.post("/passkey/skip", admit("passkey_offer"), async (ctx) => {
    const step = stepOf(ctx);
    await deps.userQueries.snoozePasskeyPrompt(step.userId, new Date(Date.now() + SNOOZE_MS));
    await deps.events.record({ type: "passkey_offer.skipped", outcome: "success", userId: step.userId, ...requestOrigin(ctx) });
    await machine.finish(ctx, "passkey_offer", withVerified(step, []), false);
  });
}
