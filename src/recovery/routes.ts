import type Router from "@koa/router";
import type { Context } from "koa";
import { AppError } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { pageRouter } from "../http/page-router.js";
import { requestOrigin } from "../http/request-origin.js";
import type { Views } from "../http/views.js";
import type { RecoveryService } from "./recovery-service.js";

/**
 * `/recover/*`: where a recovery link lands. Opening it changes nothing (mail scanners); each
 * step is a POST with the link's token, checked again every time.
 */
export function recoveryLinkRoutes(deps: { recovery: RecoveryService; views: Views; issuer: string; secureCookies: boolean; bodyLimit: string }): Router {
  const { recovery, views } = deps;
  const router = pageRouter("/recover", deps);

  async function page(ctx: Context, token: string, error?: string, status = 200) {
    const current = await recovery.state(token);
    views.render(
      ctx,
      "recovery/recover",
      {
        title: views.textOf(ctx).t("recovery:title.recover"),
        token,
        email: current.user.email,
        waitUntil: current.waitUntil,
        askFactor: current.factorRequired && !current.factorPassed,
        passwordAllowed: current.passwordAllowed,
        error,
      },
      status,
    );
  }

  /** Shows an expected refusal on the page (wrong code, too short a password); anything else propagates. */
  async function orPage(ctx: Context, token: string, step: () => Promise<void>) {
    try {
      await step();
      return true;
    } catch (error) {
      if (!(error instanceof AppError) || error.code === "recovery.link_unusable") throw error;
      const text = views.textOf(ctx);
      // A date in the error's fields (ISO 8601) reads in the page's language.
      const fields = { ...error.fields };
      if (typeof fields.from === "string") fields.from = text.dateTime(new Date(fields.from));
      await page(ctx, token, text.errorMessage({ code: error.code, message: error.message, fields }), error.status);
      return false;
    }
  }

  const done = (ctx: Context, method: "passkey" | "password") =>
    views.render(ctx, "recovery/done", { title: views.textOf(ctx).t("recovery:title.done"), method });

  router.get("/verify", async (ctx) => page(ctx, typeof ctx.query.token === "string" ? ctx.query.token : ""));

  router.post("/factor", async (ctx) => {
    const token = bodyField(ctx.request.body, "token");
    if (await orPage(ctx, token, () => recovery.verifyFactor(token, bodyField(ctx.request.body, "code"), requestOrigin(ctx)))) await page(ctx, token);
  });

  router.post("/passkey/register/options", async (ctx) => {
    ctx.body = await recovery.registrationOptions(bodyField(ctx.request.body, "token"));
  });

  router.post("/passkey/register/verify", async (ctx) => {
    const { token, ...response } = (ctx.request.body ?? {}) as Record<string, unknown>;
    await recovery.completeWithPasskey(token, response, requestOrigin(ctx), views.textOf(ctx).language);
    ctx.body = { redirectTo: "/recover/done" };
  });

  router.post("/password", async (ctx) => {
    const token = bodyField(ctx.request.body, "token");
    const password = bodyField(ctx.request.body, "password");
    if (await orPage(ctx, token, () => recovery.completeWithPassword(token, password, requestOrigin(ctx), views.textOf(ctx).language))) done(ctx, "password");
  });

  router.post("/cancel", async (ctx) => {
    await recovery.cancel(bodyField(ctx.request.body, "token"), requestOrigin(ctx), views.textOf(ctx).language);
    views.render(ctx, "recovery/cancelled", { title: views.textOf(ctx).t("recovery:title.cancelled") });
  });

  router.get("/done", (ctx) => done(ctx, "passkey"));

  return router;
}
