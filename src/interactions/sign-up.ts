import type { Context } from "koa";
import { AppError } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { signUpContinuationCookie, signUpContinuationKey } from "../signup/continuation.js";
import type { InteractionDetails } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";
import { signInResult } from "./sign-in.js";

/** "Create an account" inside an authorization: the address form, and "check your email". */
export function signUpStep(
  deps: Pick<
    InteractionDependencies,
    | "provider"
    | "views"
    | "signUp"
    | "signUpLinkMinutes"
    | "secureCookies"
    | "signInSteps"
    | "events"
    | "risk"
    | "noticeNewDevice"
    | "deviceCookie"
    | "users"
    | "userLanguage"
  >,
) {
  const { views, signUp } = deps;

  function showForm(ctx: Context, details: InteractionDetails, extra: { email?: string; error?: string } = {}, status = 200) {
    views.render(
      ctx,
      "interactions/sign-up",
      { title: views.textOf(ctx).t("sign-up:titles.createAccount"), uid: details.uid, email: extra.email ?? "", error: extra.error },
      status,
    );
  }

  function assertSignUpOffered(details: InteractionDetails) {
    if (signUp.mode() !== "open") throw new AppError("sign_up.closed", "Creating an account here is by invitation only.", 404);
    if (details.prompt.name !== "login") throw new AppError("sign_up.signed_in", "You are already signed in. Go back to the app.", 400);
  }

  return {
    show(ctx: Context, details: InteractionDetails) {
      assertSignUpOffered(details);
      showForm(ctx, details);
    },

    /** The same page whether or not the address has an account (the mail differs, not the answer). */
    async submit(ctx: Context, details: InteractionDetails) {
      assertSignUpOffered(details);
      const raw = bodyField(ctx.request.body, "email");
      let email: string;
      try {
        email = await signUp.requestLink(raw, ctx.ip, details.uid, views.textOf(ctx).language);
      } catch (error) {
        if (!(error instanceof AppError) || error.status === 404) throw error;
        showForm(ctx, details, { email: raw, error: views.textOf(ctx).errorMessage(error) }, error.status);
        return;
      }
      views.render(ctx, "interactions/sign-up-sent", {
        title: views.textOf(ctx).t("sign-up:titles.checkEmail"),
        uid: details.uid,
        email,
        minutes: deps.signUpLinkMinutes,
      });
    },

    /**
     * Where a completed sign-up lands: in the browser that started the authorization, the sign-in
     * finishes; anywhere else (the link opened on another device) the account is simply ready.
     */
    async resume(ctx: Context) {
      let details: InteractionDetails | null = null;
      try {
        details = await deps.provider.interactionDetails(ctx.req, ctx.res);
      } catch {
        details = null;
      }
      const cookie = signUpContinuationCookie(deps.secureCookies);
      const secret = ctx.cookies.get(cookie, { signed: true });
      ctx.cookies.set(cookie, null, { path: "/", secure: deps.secureCookies });
      const uid = ctx.params.uid as string;
      const pending = details?.uid === uid && secret ? await deps.signInSteps.take(signUpContinuationKey(uid, secret), "sign_up", new Date()) : null;
      const user = pending && (await deps.users.findById(pending.userId));
      if (!details || !pending || !user) {
        views.render(ctx, "signup/done", { title: views.textOf(ctx).t("sign-up:titles.ready") });
        return;
      }
      ctx.status = 303;
      ctx.redirect(await signInResult(ctx, deps, details, { ...pending, freshAmr: pending.amr }, user));
    },
  };
}
