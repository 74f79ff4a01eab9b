import type { Middleware } from "koa";

/**
 * `/.well-known/webauthn` (WebAuthn L3 §5.11, Related Origin Requests): the origins on other
 * domains whose pages may use this RP ID's passkeys. Served only when there are some; the list
 * comes from WEBAUTHN_ORIGINS, checked at start (config.ts).
 */
export function relatedOriginsDocument(relatedOrigins: readonly string[]): Middleware {
  const body = JSON.stringify({ origins: relatedOrigins });
  return async (ctx, next) => {
    if (ctx.path !== "/.well-known/webauthn" || relatedOrigins.length === 0 || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    ctx.type = "application/json";
    ctx.set("Cache-Control", "public, max-age=3600");
    ctx.body = body;
  };
}
