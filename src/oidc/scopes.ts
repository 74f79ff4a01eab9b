import type { Config } from "../config.js";

/** Lets a machine client call the admin API; never part of a user's sign-in. */
export const ADMIN_SCOPE = "admin";

/** Every scope the provider knows: the OIDC ones, one per configured claim group, and `admin`. */
export function supportedScopes(claimsByScope: Config["claimsByScope"]): string[] {
  return [...new Set(["openid", "offline_access", ...Object.keys(claimsByScope), ADMIN_SCOPE])];
}

/** What a client may ask for when the operator named no scopes: everything but `admin`. */
export const defaultClientScopes = (supported: readonly string[]) => supported.filter((scope) => scope !== ADMIN_SCOPE);
