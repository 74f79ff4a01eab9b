import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import { badRequest } from "../errors.js";
import { requestOrigin } from "../http/request-origin.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import { loadInteraction } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { signInResult } from "./sign-in.js";

/** How long "Not now" keeps the passkey offer away. */
const SNOOZE_MS = 30 * 24 * 3600 * 1000;

const noPendingSignIn = () => badRequest("passkey.no_pending_sign_in", "This page has expired. Go back to the app and sign in again.");

/**
 * The JSON side of the passkey ceremonies (views/static/passkey.js drives them) and "Not now".
 * Each verify answers `{ redirectTo }`, where the browser continues the authorization.
 */
export function passkeyRoutes(router: Router, deps: InteractionDependencies): void {
  const { provider, passkeys, interactionState } = deps;

  router.post("/passkey/authenticate/options", async (ctx: Context) => {
    const details = await loadInteraction(ctx, provider);
    ctx.body = await passkeys.authenticationOptions(`authentication:${details.uid}`);
  });

  router.post("/passkey/authenticate/verify", async (ctx: Context) => {
    const details = await loadInteraction(ctx, provider);
    const { userId, amr } = await passkeys.verifyAuthentication(`authentication:${details.uid}`, ctx.request.body);
    const remember = (ctx.request.body as { remember?: unknown }).remember === true;
    // A passkey with user verification is phishing-resistant MFA on its own.
    ctx.body = { redirectTo: await signInResult(ctx, deps, { userId, amr, acr: ACR.passkey, remember }) };
  });

  router.post("/passkey/register/options", async (ctx: Context) => {
    const details = await loadInteraction(ctx, provider);
    const pending = await interactionState.findPendingLogin(details.uid);
    if (!pending) throw noPendingSignIn();
    const user = await deps.userQueries.findUserById(pending.userId);
    if (!user) throw noPendingSignIn();
    ctx.body = await passkeys.registrationOptions(`registration:${details.uid}`, user);
  });

  router.post("/passkey/register/verify", async (ctx: Context) => {
    const details = await loadInteraction(ctx, provider);
    const pending = await interactionState.findPendingLogin(details.uid);
    if (!pending) throw noPendingSignIn();
    const origin = requestOrigin(ctx);
    await passkeys.savePasskey(
      await passkeys.verifyRegistration(`registration:${details.uid}`, pending.userId, ctx.request.body, defaultPasskeyName(origin.userAgent)),
    );
    await deps.notifySecurityChange({ userId: pending.userId, type: "passkey.added", change: "A passkey was added", origin });
    await interactionState.takePendingLogin(details.uid);
    ctx.body = { redirectTo: await signInResult(ctx, deps, pending) };
  });

  router.post("/passkey/skip", async (ctx: Context) => {
    const details = await loadInteraction(ctx, provider);
    const pending = await interactionState.takePendingLogin(details.uid);
    if (!pending) throw noPendingSignIn();
    await deps.userQueries.snoozePasskeyPrompt(pending.userId, new Date(Date.now() + SNOOZE_MS));
    ctx.status = 303;
    ctx.redirect(await signInResult(ctx, deps, pending));
  });
}
