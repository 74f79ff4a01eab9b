import Tokens from "csrf";
import type { Middleware } from "koa";
import { forbidden } from "../errors.js";

const tokens = new Tokens();
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * CSRF defence for the app's own forms: a per-browser secret in a signed, HttpOnly
 * (`__Host-` on https) cookie, a token derived from it in every form, and a check of
 * Origin / Sec-Fetch-Site on every state-changing request.
 */
export function csrfProtection(options: { issuer: string; secureCookies: boolean }): Middleware {
  const cookieName = options.secureCookies ? "__Host-csrf" : "idp_csrf";
  const cookieOptions = { httpOnly: true, sameSite: "lax" as const, secure: options.secureCookies, signed: true, path: "/", overwrite: true };

  return async (ctx, next) => {
    let secret = ctx.cookies.get(cookieName, { signed: true });
    if (!secret) {
      secret = tokens.secretSync();
      ctx.cookies.set(cookieName, secret, cookieOptions);
    }
    ctx.state.csrfToken = tokens.create(secret);

    if (!SAFE_METHODS.has(ctx.method)) {
      // Fetch metadata first: browsers that send it say exactly where a request came from.
      const site = ctx.get("Sec-Fetch-Site");
      if (site && site !== "same-origin") throw forbidden("csrf.foreign_origin", "This request came from another site and was refused.");
      // Under Referrer-Policy: no-referrer browsers send `Origin: null` even from our own pages, so
      // only a concrete foreign origin is refused here; the token below decides the rest.
      const origin = ctx.get("Origin");
      if (origin && origin !== "null" && origin !== options.issuer)
        throw forbidden("csrf.foreign_origin", "This request came from another site and was refused.");
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const token = typeof body?._csrf === "string" ? body._csrf : ctx.get("X-CSRF-Token");
      if (!token || !tokens.verify(secret, token)) {
        throw forbidden("csrf.invalid_token", "This form has expired. Go back, reload the page and try again.");
      }
    }
    await next();
  };
}
