import type { Middleware } from "koa";
import { AppError } from "../errors.js";
import type { Views } from "./views.js";

const TITLES: Record<number, string> = {
  400: "That did not work",
  403: "Not allowed",
  404: "Not found",
  413: "Too much data",
  421: "Not served at this address",
  429: "Too many attempts",
};

// OAuth endpoints (RFC 6749 §5.2), discovery and the admin API answer JSON whatever Accept says.
const JSON_ENDPOINTS = /^\/(token(\/|$)|me$|jwks$|\.well-known\/|admin\/api(\/|$))/;

function wantsJson(ctx: Parameters<Middleware>[0]): boolean {
  return JSON_ENDPOINTS.test(ctx.path) || !ctx.accepts("html");
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
      const message = exposed ? error.message : status < 500 ? "The request could not be processed." : "Something went wrong on our side. Please try again.";
      if (status >= 500) ctx.state.log?.error({ err: error }, "request failed");
      else ctx.state.log?.info({ code, status }, "request refused");

      ctx.status = status;
      if (wantsJson(ctx)) {
        ctx.body = { error: code, error_description: message };
      } else {
        views.render(ctx, "errors/error", { title: TITLES[status] ?? "Something went wrong", message }, status);
      }
    }
  };
}
