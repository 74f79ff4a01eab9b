import type { Middleware } from "koa";

const ABSOLUTE_HTTP = /^https?:\/\//i;

/** Whether koa can read the target's path and query at all (its parser throws on some absolute forms). */
function readable(ctx: { path: string; querystring: string }): boolean {
  try {
    return typeof ctx.path === "string" && typeof ctx.querystring === "string";
  } catch {
    return false;
  }
}

/**
 * The request target must be a path (`/…`) or an absolute http(s) URL that parses: anything else
 * (`GET http://[`, `GET ftp://evil/jwks`, `GET *`) is answered 400 here, before any middleware
 * reads `ctx.path` — one such request used to throw from the response's log line and end the process.
 */
export function refuseUnreadableTarget(): Middleware {
  return async (ctx, next) => {
    const target = ctx.req.url ?? "";
    const shaped = target.startsWith("/") || ABSOLUTE_HTTP.test(target);
    if (!shaped || !readable(ctx)) {
      ctx.status = 400;
      ctx.set("Cache-Control", "no-store");
      ctx.body = { error: "invalid_request", error_description: "The request target is not a path on this server." };
      return;
    }
    await next();
  };
}
