import type { Middleware } from "koa";

/** Headers every response carries; pages rendered from views/ add their own full CSP. */
export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("Referrer-Policy", "no-referrer");
    // Clickjacking: no page of the IdP may be framed.
    ctx.set("X-Frame-Options", "DENY");
    ctx.set("Content-Security-Policy", "frame-ancestors 'none'");
    if (options.hsts) ctx.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    await next();
  };
}
