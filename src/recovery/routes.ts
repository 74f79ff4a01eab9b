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
        title: "Recover your account",
        token,
        email: current.user.email,
        waitUntil: current.waitUntil?.toUTCString() ?? null,
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
      await page(ctx, token, error.message, error.status);
      return false;
    }
  }

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
    await recovery.completeWithPasskey(token, response, requestOrigin(ctx));
    ctx.body = { redirectTo: "/recover/done" };
  });

  router.post("/password", async (ctx) => {
    const token = bodyField(ctx.request.body, "token");
    if (await orPage(ctx, token, () => recovery.completeWithPassword(token, bodyField(ctx.request.body, "password"), requestOrigin(ctx)))) {
      views.render(ctx, "recovery/done", { title: "Account recovered", method: "password" });
    }
  });

  router.post("/cancel", async (ctx) => {
    await recovery.cancel(bodyField(ctx.request.body, "token"), requestOrigin(ctx));
    views.render(ctx, "recovery/cancelled", { title: "Recovery cancelled" });
  });

  router.get("/done", (ctx) => views.render(ctx, "recovery/done", { title: "Account recovered", method: "passkey" }));

  return router;
}
