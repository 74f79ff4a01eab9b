import type { Account } from "oidc-provider";
import type { UserRow } from "../db/users.js";

const MAX_CACHED_ACCOUNTS = 10_000;

/**
 * oidc-provider's account lookup. Disabled accounts are not found, so their tokens stop
 * working at userinfo. Rows are cached for `cacheSeconds` (userinfo is a hot path).
 */
export function createAccountFinder(findUserById: (id: string) => Promise<UserRow | null>, options: { cacheSeconds: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { expires: number; user: UserRow | null }>();

  return async (accountId: string): Promise<Account | undefined> => {
    let hit = cache.get(accountId);
    if (!hit || hit.expires <= now()) {
      hit = { expires: now() + options.cacheSeconds * 1000, user: await findUserById(accountId) };
      if (cache.size >= MAX_CACHED_ACCOUNTS) cache.clear();
      if (options.cacheSeconds > 0) cache.set(accountId, hit);
    }
    const { user } = hit;
    if (!user || user.disabledAt) return undefined;
    return {
      accountId,
      claims: () => ({
        sub: accountId,
        email: user.email,
        email_verified: user.emailVerified,
        ...(user.name ? { name: user.name } : {}),
        ...(user.username ? { preferred_username: user.username } : {}),
      }),
    };
  };
}
