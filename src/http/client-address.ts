import { isIP } from "node:net";
import type { Middleware } from "koa";
import proxyAddr from "proxy-addr";

export interface ProxySettings {
  readonly trustProxy: boolean;
  readonly proxyHops: number;
  readonly trustedProxies: readonly string[];
}

/** Whether the address `hop` steps from our socket (0: the peer itself) is one of our proxies. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** Our proxies: the first `proxyHops` counted from the socket, or the listed addresses/CIDRs. */
export function proxyTrust(settings: ProxySettings): ProxyTrust {
  if (!settings.trustProxy) return () => false;
  if (settings.trustedProxies.length > 0) return proxyAddr.compile([...settings.trustedProxies]);
  return (_address, hop) => hop < settings.proxyHops;
}

const FORWARDED_HEADERS = ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"];

/**
 * Sets `ctx.ip` to the address our last trusted proxy saw, read from the right end of
 * X-Forwarded-For. Spoofing: every entry left of that one is whatever the client wrote (Koa's
 * `proxy` alone takes the leftmost, which walked past per-IP throttles and into events). A
 * request that did not come through a trusted proxy loses its X-Forwarded-* headers, so neither
 * koa nor oidc-provider reads a client's claim about host or protocol.
 */
export function clientAddress(trust: ProxyTrust): Middleware {
  return async (ctx, next) => {
    if (!trust(ctx.req.socket.remoteAddress ?? "", 0)) {
      for (const name of FORWARDED_HEADERS) delete ctx.req.headers[name];
    }
    const forwarded = proxyAddr(ctx.req, trust);
    // What a proxy forwards is a client's claim too: only an IP address is taken for one.
    ctx.request.ip = isIP(forwarded) ? forwarded : (ctx.req.socket.remoteAddress ?? "");
    await next();
  };
}
