import { randomBytes } from "node:crypto";
import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import type { SignInStepQueries } from "../db/sign-in-steps.js";
import { bodyField } from "../http/body-field.js";
import { pageRouter } from "../http/page-router.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import type { Views } from "../http/views.js";
import { signUpContinuationCookie, signUpContinuationKey } from "./continuation.js";
import type { SignUpService } from "./sign-up-service.js";

/**
 * `/signup/*`: where a mailed sign-up or invitation link lands, in whichever browser opened it.
 * Opening the link (GET) changes nothing, so mail scanners that fetch links cannot use it up;
 * the account is created when the passkey is (views/static/passkey.js drives the ceremony).
 */
export function signUpLinkRoutes(deps: {
  signUp: SignUpService;
  signInSteps: SignInStepQueries;
  views: Views;
  issuer: string;
  secureCookies: boolean;
  bodyLimit: string;
  interactionSeconds: number;
  /** The `ui_locales` of a sign-in still in progress (none when it is gone). */
  uiLocalesOfInteraction: (uid: string) => Promise<string[]>;
}): Router {
  const { signUp, views } = deps;
  const router = pageRouter("/signup", deps);

  /** The link's email; its pages (and the account made from it) speak the language of the sign-in that asked for it. */
  async function openLink(ctx: Context, token: unknown): Promise<string> {
    const { email, interactionUid } = await signUp.linkOf(token);
    if (interactionUid) ctx.state.uiLocales = await deps.uiLocalesOfInteraction(interactionUid);
    return email;
  }

  router.get("/verify", async (ctx: Context) => {
    const token = ctx.query.token;
    const email = await openLink(ctx, token);
    views.render(ctx, "signup/create-passkey", { title: views.textOf(ctx).t("sign-up:titles.createPasskey"), email, token });
  });

  router.post("/passkey/register/options", async (ctx: Context) => {
    ctx.body = await signUp.registrationOptions(bodyField(ctx.request.body, "token"));
  });

  router.post("/passkey/register/verify", async (ctx: Context) => {
    const { token, ...response } = (ctx.request.body ?? {}) as Record<string, unknown>;
    await openLink(ctx, token);
    const result = await signUp.complete(token, response, defaultPasskeyName(ctx.get("User-Agent")), deps.views.textOf(ctx).language);
    if (!result.interactionUid) {
      ctx.body = { redirectTo: "/signup/done" };
      return;
    }
    // The sign-in continues only in a browser that both created this passkey (the cookie below) and
    // started the authorization (oidc-provider's interaction cookie): a sign-up someone else started
    // for your address never signs *them* in when you complete it.
    const secret = randomBytes(32).toString("base64url");
    const signIn = { userId: result.userId, amr: result.amr, freshAmr: result.amr, acr: ACR.passkey, remember: false, authTime: null };
    const expiresAt = new Date(Date.now() + deps.interactionSeconds * 1000);
    await deps.signInSteps.start(signUpContinuationKey(result.interactionUid, secret), "sign_up", signIn, expiresAt, new Date());
    ctx.cookies.set(signUpContinuationCookie(deps.secureCookies), secret, {
      httpOnly: true,
      sameSite: "lax",
      secure: deps.secureCookies,
      signed: true,
      path: "/",
      maxAge: deps.interactionSeconds * 1000,
    });
    ctx.body = { redirectTo: `/interaction/${result.interactionUid}/signup/continue` };
  });

  router.get("/done", (ctx: Context) => views.render(ctx, "signup/done", { title: views.textOf(ctx).t("sign-up:titles.ready") }));

  return router;
}
