import type Provider from "oidc-provider";
import type { KoaContextWithOIDC } from "oidc-provider";
import { allowedGroupsOf } from "./find-account.js";

type Middleware = Parameters<Provider["use"]>[0];

/**
 * Introspection (RFC 7662) answers `active: false` for a token of an app restricted to groups
 * once its person is in none of them, as userinfo and the token endpoint refuse it: oidc-provider
 * never looks the account up there, so a resource server would go on accepting the token of
 * someone removed from the group until it expired.
 */
export function introspectionFollowsAccess(provider: Provider, isMemberOfAny: (userId: string, groupIds: string[]) => Promise<boolean>): Middleware {
  return async (ctx, next) => {
    await next();
    const { oidc } = ctx as unknown as KoaContextWithOIDC;
    if (oidc?.route !== "introspection") return;
    const answer = ctx.body as { active?: boolean; sub?: unknown; client_id?: unknown } | undefined;
    if (answer?.active !== true || typeof answer.sub !== "string" || typeof answer.client_id !== "string") return;
    const allowed = allowedGroupsOf(await provider.Client.find(answer.client_id));
    if (allowed.length > 0 && !(await isMemberOfAny(answer.sub, allowed))) ctx.body = { active: false };
  };
}
