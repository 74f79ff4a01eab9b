import type { Account, KoaContextWithOIDC } from "oidc-provider";
import type { AccountRow } from "../db/users.js";
import { resolveCustomClaims } from "../groups/claim-resolution.js";
import { clientSetting } from "./client-setting.js";

const MAX_CACHED_ACCOUNTS = 10_000;

/** An app's allowed groups (ids) from its metadata; none: everyone may use it. */
export const allowedGroupsOf = (client: KoaContextWithOIDC["oidc"]["client"]) => (clientSetting(client, "idp_allowed_groups") as string[] | undefined) ?? [];

interface CachedAccount {
  expires: number;
  account: { row: AccountRow; groupIds: Set<string>; claims: Record<string, unknown> } | null;
}

/**
 * oidc-provider's account lookup. Disabled accounts are not found, so their tokens stop working at
 * userinfo. For a token (code, refresh token, access token at userinfo) of an app restricted to
 * groups, a person no longer in one is not found either: removing them from the group ends their
 * use of the app within `cacheSeconds`. Rows are cached for `cacheSeconds` (userinfo is a hot path).
 */
export function createAccountFinder(findAccountById: (id: string) => Promise<AccountRow | null>, options: { cacheSeconds: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedAccount>();

  async function load(accountId: string, fresh = false): Promise<CachedAccount["account"]> {
    let hit = cache.get(accountId);
    if (fresh || !hit || hit.expires <= now()) {
      const row = await findAccountById(accountId);
      const account = row
        ? {
            row,
            groupIds: new Set(row.groups.map(({ group }) => group.id)),
            claims: resolveCustomClaims(
              row.customClaims,
              row.groups.map(({ group }) => ({ name: group.name, claims: group.customClaims })),
            ),
          }
        : null;
      hit = { expires: now() + options.cacheSeconds * 1000, account };
      if (cache.size >= MAX_CACHED_ACCOUNTS) cache.clear();
      if (options.cacheSeconds > 0) cache.set(accountId, hit);
    }
    return hit.account;
  }

  return async (ctx: KoaContextWithOIDC | undefined, accountId: string, token?: unknown): Promise<Account | undefined> => {
    let account = await load(accountId);
    if (!account || account.row.disabledAt) return undefined;
    const allowed = ctx && token ? allowedGroupsOf(ctx.oidc.client) : [];
    const allowedIn = (groupIds: Set<string>) => allowed.length === 0 || allowed.some((id) => groupIds.has(id));
    // At the authorization endpoint the interaction policy refuses with a page (acr-policy.ts); a token says no here.
    // A refusal is read again first: the authorization checked the database, and someone added to
    // the group a moment ago must not get a code their own exchange then refuses.
    if (!allowedIn(account.groupIds)) {
      account = await load(accountId, true);
      if (!account || account.row.disabledAt || !allowedIn(account.groupIds)) return undefined;
    }
    const { row, claims } = account;
    return {
      accountId,
      claims: () => ({
        // Custom claims first: the IdP's own can never be overwritten (CUSTOM_SCOPES also refuses their names).
        ...claims,
        sub: accountId,
        email: row.email,
        email_verified: row.emailVerified,
        ...(row.name ? { name: row.name } : {}),
        ...(row.username ? { preferred_username: row.username } : {}),
        groups: row.groups.map(({ group }) => group.name).sort(),
      }),
    };
  };
}
