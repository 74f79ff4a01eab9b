import type { Middleware } from "koa";
import { AppError } from "../errors.js";

const message =
  "This server's ISSUER is https, but this request came over plain HTTP and TRUST_PROXY is not set. " +
  "The server itself speaks only plain HTTP: put a TLS-terminating reverse proxy in front of it and set TRUST_PROXY.";

/**
 * For an https issuer with no trusted proxy: every request reaches this server as plain HTTP,
 * where koa refuses the Secure session and CSRF cookies (a 500 on every page). Refuse clearly instead.
 * Production refuses this configuration at start (config.ts); this serves development.
 */
export function requireTlsWithoutProxy(): Middleware {
  return async (ctx, next) => {
    if (!ctx.secure) throw new AppError("http.tls_required", message, 421);
    await next();
  };
}
