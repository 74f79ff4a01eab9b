import type Provider from "oidc-provider";
import { interactionPolicy, type KoaContextWithOIDC } from "oidc-provider";
import { acrRequestOf, requiredRank } from "../auth/acr-request.js";
import { APPROVED_KEY_METHOD, rankOf, reportedAcr, usedPasskey } from "../auth/assurance.js";
import { minimumRankOf } from "./client-setting.js";
import { allowedGroupsOf } from "./find-account.js";

type OidcContext = KoaContextWithOIDC["oidc"];

function requestOf(oidc: OidcContext) {
  let claimsAcr: unknown;
  try {
    claimsAcr = oidc.claims?.id_token?.acr;
  } catch {
    claimsAcr = undefined;
  }
  return acrRequestOf(oidc.params?.acr_values, claimsAcr);
}

/**
 * The session keeps the level actually reached; each authorization reports the relying party's
 * most preferred requested value that level satisfies (so a passkey session answers a request for
 * `mfa` with `mfa`). oidc-provider's own essential-acr checks compare against this value.
 */
export function reportRequestedAcr(provider: Provider): void {
  Object.defineProperty(provider.OIDCContext.prototype, "acr", {
    configurable: true,
    get(this: OidcContext) {
      return reportedAcr(this.session?.acr, requestOf(this).values);
    },
  });
}

/** Whether a person may use an app restricted to groups, and what to do when not. */
export interface AppAccess {
  isMemberOfAny(userId: string, groupIds: string[]): Promise<boolean>;
  refused(ctx: KoaContextWithOIDC, userId: string): Promise<void>;
}

/**
 * After sign-in, before consent: a person outside every group an app allows is refused, on every
 * authorization (a session signed in for another app included). The interaction shows why; with
 * prompt=none the app gets access_denied at once.
 */
function accessPrompt(access: AppAccess) {
  const { Check, Prompt } = interactionPolicy;
  return new Prompt(
    { name: "access", requestable: false },
    new Check("not_in_allowed_groups", "The user is not allowed to use this app.", "access_denied", async (ctx) => {
      const userId = ctx.oidc.session?.accountId;
      const allowed = allowedGroupsOf(ctx.oidc.client);
      if (!userId || allowed.length === 0 || (await access.isMemberOfAny(userId, allowed))) return Check.NO_NEED_TO_PROMPT;
      await access.refused(ctx, userId);
      return Check.REQUEST_PROMPT;
    }),
  );
}

/**
 * oidc-provider's interaction policy plus one login check: a session below the level the client
 * requires (its minimum) or the relying party asked for (`acr_values`) goes back to the
 * interaction, which asks only for the missing factor. Voluntary values are met at the level the
 * interaction could reach; the client's minimum never is lowered.
 */
export function interactionPolicyWithAcr(options: {
  globalMinimumAcr: string | null;
  isRiskySilentRequest?: (ctx: KoaContextWithOIDC) => Promise<boolean>;
  appAccess?: AppAccess;
  /** Whether the passkey policy covers this sign-in (its app, its account): only approved keys count. */
  needsApprovedKey?: (ctx: KoaContextWithOIDC, userId: string) => Promise<boolean>;
}) {
  const { isRiskySilentRequest } = options;
  const { Check, base } = interactionPolicy;
  const policy = base();
  if (options.appAccess) policy.add(accessPrompt(options.appAccess), 1);
  if (isRiskySilentRequest) {
    policy.get("login")?.checks.add(
      new Check("risk", "this request does not look like the session's earlier ones", async (ctx) => {
        // Only requests riding an existing session without signing in now (silent re-authentication).
        if (!ctx.oidc.session?.accountId || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
        return (await isRiskySilentRequest(ctx)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      }),
    );
  }
  const { needsApprovedKey } = options;
  if (needsApprovedKey) {
    policy.get("login")?.checks.add(
      // A session made with an unapproved passkey (the account page, another app, before the policy)
      // would otherwise carry it into an app only approved keys may open: sign in again.
      new Check("passkey_policy", "this app accepts only approved security keys", "login_required", async (ctx) => {
        const { session } = ctx.oidc;
        const amr = session?.amr ?? [];
        if (!session?.accountId || !usedPasskey(amr) || amr.includes(APPROVED_KEY_METHOD)) return Check.NO_NEED_TO_PROMPT;
        return (await needsApprovedKey(ctx, session.accountId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      }),
    );
  }
  policy.get("login")?.checks.add(
    new Check("acr_insufficient", "a higher authentication level is required", (ctx) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
      const achieved = rankOf(oidc.session.acr);
      const clientMinimum = minimumRankOf(oidc.client, options.globalMinimumAcr);
      if (achieved < clientMinimum) return Check.REQUEST_PROMPT;
      if (achieved >= requiredRank(requestOf(oidc), undefined) || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      return Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
