import type { Middleware } from "koa";
import type Provider from "oidc-provider";
import type { AdminApiThrottle } from "../db/rate-limits.js";
import { AppError } from "../errors.js";
import { ADMIN_SCOPE } from "../oidc/scopes.js";

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

const unauthorized = (message: string) => new AppError("invalid_token", message, 401);
const insufficientScope = () => new AppError("insufficient_scope", `This token lacks the "${ADMIN_SCOPE}" scope.`, 403);

/**
 * RFC 6750 bearer authentication for the admin API: an access token the token endpoint issued by
 * client_credentials, unexpired, carrying `admin`, to a client that still holds that scope (taking
 * the scope away, or deleting the client, locks it out at once), within its request allowance.
 * Sets `ctx.state.actor`.
 */
export function adminBearerAuth(provider: Provider, throttle: AdminApiThrottle): Middleware {
  return async (ctx, next) => {
    const token = BEARER.exec(ctx.get("Authorization"))?.[1];
    if (!token) throw unauthorized("This API needs an access token: client_credentials for a client with the admin scope, sent as a Bearer token.");
    const issued = await provider.ClientCredentials.find(token);
    if (!issued || issued.isExpired) throw unauthorized("The access token is not valid (expired, revoked or never issued).");
    if (!issued.scope?.split(" ").includes(ADMIN_SCOPE)) throw insufficientScope();
    const client = issued.clientId ? await provider.Client.find(issued.clientId) : undefined;
    if (!client) throw unauthorized("The client this token was issued to no longer exists.");
    if (!client.scope?.split(" ").includes(ADMIN_SCOPE)) throw insufficientScope();
    await throttle.consume(client.clientId);
    ctx.state.actor = { actor: `client:${client.clientId}`, ip: ctx.ip };
    await next();
  };
}
