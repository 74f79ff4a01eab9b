import type { Context } from "koa";
import type Provider from "oidc-provider";
import type { Views } from "./views.js";

type Middleware = Parameters<Provider["use"]>[0];

/** A path nobody answers: a styled page people can act on (or JSON for an API caller), not koa's bare "Not Found". */
export function pageForUnknownPaths(views: Views): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    const context = ctx as unknown as Context;
    const { t } = views.textOf(context);
    const message = t("errors:not_found");
    if (!context.accepts("html") || context.get("Accept").includes("application/json")) {
      ctx.body = { error: "not_found", error_description: message };
      ctx.status = 404;
      return;
    }
    ctx.type = "html";
    // Setting a body makes koa answer 200 unless the status is set again after it.
    ctx.body = views.renderToString(context, "errors/error", { title: t("sign-in:notFound.title"), message, next: t("sign-in:notFound.next") });
    ctx.status = 404;
  };
}
