import type { Middleware } from "koa";
import { AppError } from "../errors.js";

const ABSOLUTE_FORM = /^https?:\/\//i;

/** The request target when sent in absolute form (`GET http://host/path`), else null; "invalid" if unparsable. */
function absoluteTarget(originalUrl: string): URL | null | "invalid" {
  if (!ABSOLUTE_FORM.test(originalUrl)) return null;
  try {
    return new URL(originalUrl);
  } catch {
    return "invalid";
  }
}

// A name or bracketed IPv6 literal and an optional port, nothing else (no path, userinfo or list).
const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** `host[:port]` as a URL of the issuer's scheme spells it (lower case, default port dropped); null if not a host. */
function normalHost(host: string, protocol: string): string | null {
  if (!HOST_SHAPE.test(host)) return null;
  try {
    return new URL(`${protocol}//${host}`).host;
  } catch {
    return null;
  }
}

/**
 * The issuer is the only origin this server answers for. Cache poisoning: oidc-provider builds
 * discovery's endpoints from the request's Host (or X-Forwarded-Host), so `Host: evil.example`
 * would publish `http://evil.example/token` to every cache in between. 421 Misdirected Request
 * (RFC 9110 §15.5.20) for any other host; health checks are mounted before this, for probes by IP.
 */
export function refuseOtherHosts(issuer: string): Middleware {
  const { host: issuerHost, protocol } = new URL(issuer);
  return async (ctx, next) => {
    const target = absoluteTarget(ctx.originalUrl);
    const targetHost = target === null ? issuerHost : target === "invalid" ? null : normalHost(target.host, protocol);
    // The header as sent (koa's ctx.host forgives userinfo and lists); X-Forwarded-Host is only
    // still here when a trusted proxy sent it (client-address.ts), and a proxy chain may list several.
    const claimed = ctx.get("X-Forwarded-Host").split(",")[0]?.trim() || ctx.get("Host");
    if (normalHost(claimed, protocol) !== issuerHost || targetHost !== issuerHost) {
      throw new AppError("misdirected_request", `This server answers only for ${issuer}.`, 421, { fields: { issuer } });
    }
    await next();
  };
}

/**
 * For oidc-provider's context: every absolute URL it builds (discovery, redirects, `iss`-bound
 * URLs) resolves against the issuer, never against what Host, X-Forwarded-Host or
 * X-Forwarded-Proto (whose leftmost value a client may write through an appending proxy) say.
 */
export function pinHrefToIssuer(issuer: string): Middleware {
  return async (ctx, next) => {
    const target = absoluteTarget(ctx.originalUrl);
    const path = target === null ? ctx.originalUrl : target === "invalid" ? "/" : `${target.pathname}${target.search}`;
    Object.defineProperty(ctx.request, "href", { value: `${issuer}${path}`, configurable: true });
    await next();
  };
}
