import type { Context } from "koa";
import { ACR, rankOf } from "../auth/assurance.js";
import type { UserQueries } from "../db/users.js";
import { forbidden } from "../errors.js";
import { hasSecondFactor, type SecondFactorService } from "../mfa/second-factor-service.js";
import type { AccountSession, AccountSignIn } from "./account-sign-in.js";

/**
 * Who is on the account pages, and whether they verified recently enough to change something:
 * within `account.reverifySeconds`, at MFA once the user has a second factor or a passkey (password
 * otherwise). A stolen, idle session can look but not change how the account signs in.
 */
export function createAccountAccess(deps: { signIn: AccountSignIn; users: UserQueries; secondFactors: SecondFactorService; reverifySeconds: number }) {
  const { signIn } = deps;

  async function current(ctx: Context): Promise<AccountSession | null> {
    const session = await signIn.current(ctx);
    const user = session ? await deps.users.findUserById(session.userId) : null;
    return session && user && !user.disabledAt ? session : null;
  }

  async function requiredLevel(userId: string) {
    return hasSecondFactor(await deps.secondFactors.factorsOf(userId)) ? ACR.mfa : ACR.password;
  }

  function isFresh(session: AccountSession, required: string) {
    // Whole seconds, as oidc-provider's max_age check counts them (so the two agree on "too old").
    const fresh = Math.floor(Date.now() / 1000) - session.loginTs <= deps.reverifySeconds;
    return fresh && rankOf(session.acr) >= rankOf(required);
  }

  return {
    /** The signed-in account, or a redirect to sign in (then null). */
    async signedIn(ctx: Context): Promise<AccountSession | null> {
      const session = await current(ctx);
      if (!session) signIn.start(ctx, ctx.method === "GET" ? ctx.path : "/account");
      return session;
    },

    /**
     * The session when its verification is recent and strong enough (at least `atLeast`, when
     * given); else a redirect to verify again (then null).
     */
    async recentlyVerified(ctx: Context, atLeast?: string): Promise<AccountSession | null> {
      const session = await current(ctx);
      if (!session) {
        signIn.start(ctx, "/account");
        return null;
      }
      const level = await requiredLevel(session.userId);
      const required = atLeast && rankOf(atLeast) > rankOf(level) ? atLeast : level;
      if (isFresh(session, required)) return session;
      signIn.start(ctx, "/account", { acr: required, maxAge: deps.reverifySeconds });
      return null;
    },

    /** For the JSON steps of a ceremony the page started: no redirect, a 403 the script shows. */
    async recentlyVerifiedOrRefuse(ctx: Context): Promise<AccountSession> {
      const session = await current(ctx);
      if (session && isFresh(session, await requiredLevel(session.userId))) return session;
      throw forbidden("account.verify_again", "Confirm it's you again: reload the account page and start over.");
    },
  };
}

export type AccountAccess = ReturnType<typeof createAccountAccess>;
