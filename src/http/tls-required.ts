import type { Middleware } from "koa";
import { AppError } from "../errors.js";

const withoutProxy =
  "This server's ISSUER is https, but this request came over plain HTTP and TRUST_PROXY is not set. " +
  "The server itself speaks only plain HTTP: put a TLS-terminating reverse proxy in front of it and set TRUST_PROXY.";
const proxyNotHttps =
  "This server's ISSUER is https, but the proxy in front did not say the request came over https " +
  "(X-Forwarded-Proto: https). Serve the site over https only, and check TRUST_PROXY names that proxy.";

/**
 * For an https issuer: a request that did not come over https (no trusted proxy, or one that
 * sent no `X-Forwarded-Proto: https`) is where koa refuses the Secure session and CSRF cookies
 * (a 500 on every page). Refuse it clearly instead. Production refuses an https issuer without
 * TRUST_PROXY at start (config.ts).
 */
export function requireTls(options: { trustProxy: boolean }): Middleware {
  const message = options.trustProxy ? proxyNotHttps : withoutProxy;
  // `context`: pages word the second case as errors:http.tls_required_without_proxy (i18next context).
  const fields: Record<string, string> = options.trustProxy ? {} : { context: "without_proxy" };
  return async (ctx, next) => {
    if (!ctx.secure) throw new AppError("http.tls_required", message, 421, { fields });
    await next();
  };
}
