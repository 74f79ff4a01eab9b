import type { Middleware } from "koa";
import { AppError } from "../errors.js";
import type { Views } from "./views.js";

const TITLED_STATUSES = new Set([400, 403, 404, 413, 421, 429]);

// OAuth endpoints (RFC 6749 §5.2), discovery and the admin API answer JSON whatever Accept says.
const JSON_ENDPOINTS = /^\/(token(\/|$)|me$|jwks$|\.well-known\/|admin\/api(\/|$))/;

const isOAuthOrApi = (ctx: Parameters<Middleware>[0]) => JSON_ENDPOINTS.test(ctx.path);

function wantsJson(ctx: Parameters<Middleware>[0]): boolean {
  return isOAuthOrApi(ctx) || !ctx.accepts("html");
}

/**
 * Turns every error thrown by the app's own routes into a page (or JSON): AppErrors and
 * client errors (4xx) show their message; anything else is logged and shown generically.
 * oidc-provider's own errors go through its renderError hook instead.
 */
export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      const error = caught as Error & { status?: number; statusCode?: number; expose?: boolean; code?: string };
      const status = error.status ?? error.statusCode ?? 500;
      const exposed = status < 500 && (error instanceof AppError || error.expose === true);
      const code = error instanceof AppError ? error.code : status === 413 ? "request.too_large" : status < 500 ? "request.invalid" : "server.error";
      // What the page's reader can act on, in their language; an API caller gets the English message.
      const english = exposed ? error.message : status < 500 ? "The request could not be processed." : "Something went wrong on our side. Please try again.";
      if (status >= 500) ctx.state.log?.error({ err: error }, "request failed");
      else ctx.state.log?.info({ code, status }, "request refused");

      ctx.status = status;
      const text = views.textOf(ctx);
      const message = exposed
        ? text.errorMessage({ code, message: english, fields: (error as Partial<AppError>).fields })
        : text.t(status < 500 ? "common:requestInvalid" : "common:serverError");
      if (wantsJson(ctx)) {
        ctx.body = { error: code, error_description: isOAuthOrApi(ctx) ? english : message };
      } else {
        views.render(ctx, "errors/error", { title: text.t(`common:errorTitle.${TITLED_STATUSES.has(status) ? status : "other"}`), message }, status);
      }
    }
  };
}
