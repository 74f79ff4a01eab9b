import { bodyParser } from "@koa/bodyparser";
import type { Middleware } from "koa";
import { badRequest } from "../errors.js";

/**
 * OIDC Core §3.1.2.1: the authorization endpoint accepts POST. oidc-provider supports it only
 * with SameSite=None session cookies; instead we keep SameSite=Lax and answer a form POST with
 * a 303 to the same request as GET (same parameters, duplicates and order kept), which the
 * browser follows as a top-level navigation that carries Lax cookies. An attacker gains
 * nothing: the GET was always theirs to send.
 */
export function authorizationPost(options: { path: string; bodyLimit: string }): Middleware {
  const parse = bodyParser({ enableTypes: ["form"], formLimit: options.bodyLimit });
  return async (ctx, next) => {
    if (ctx.method !== "POST" || ctx.path !== options.path) return next();
    if (!ctx.is("application/x-www-form-urlencoded")) {
      throw badRequest("authorization.unsupported_content_type", "The authorization request must be sent as a form (application/x-www-form-urlencoded).");
    }
    await parse(ctx, async () => {});
    const query = new URLSearchParams(String(ctx.request.rawBody ?? "")).toString();
    ctx.status = 303;
    ctx.redirect(`${options.path}?${query}`);
  };
}
