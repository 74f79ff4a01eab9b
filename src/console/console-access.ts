import type { Context } from "koa";
import type { Actor } from "../audit/audit-log.js";
import { ACR, APPROVED_KEY_METHOD, rankOf, usedPasskey } from "../auth/assurance.js";
import type { FirstPartySignIn } from "../auth/first-party-sign-in.js";
import type { UserRow } from "../db/users.js";
import { forbidden } from "../errors.js";
import { CONSOLE_PASSKEY_CLIENT_ID } from "./console-client.js";

export interface Operator {
  userId: string;
  email: string;
  /** Who the audit log names for the console's changes. */
  actor: Actor;
}

const PASSKEY_RANK = rankOf(ACR.passkey);

export const operatorActor = (userId: string, ip: string): Actor => ({ actor: `operator:${userId}`, ip });

/**
 * Who is on the console: a signed-in, enabled operator whose session reached a passkey. Read from
 * the database on every request (no cache), so a disabled or demoted operator loses the console at
 * the next request. Every change also needs a passkey verification within `reverifySeconds`.
 */
export function createConsoleAccess(deps: {
  signIn: FirstPartySignIn;
  findUser: (id: string) => Promise<UserRow | null>;
  reverifySeconds: number;
  /** The passkey policy is on: whatever its scope, it covers operators' console sign-ins. */
  approvedKeysOnly: boolean;
}) {
  const { signIn } = deps;
  const returnHere = (ctx: Context) => (ctx.method === "GET" ? ctx.path : "/admin");

  async function operatorOf(ctx: Context, returnTo: string) {
    const session = await signIn.current(ctx);
    const user = session ? await deps.findUser(session.userId) : null;
    if (!session || !user || user.disabledAt) {
      signIn.start(ctx, returnTo);
      return null;
    }
    // Before the level check: someone who is no operator has nothing to step up for.
    if (user.role !== "operator") throw forbidden("console.not_operator", "The console is for operators. Your account is not one.", { email: user.email });
    // Phishing-resistant only: a session from a password (the account pages, an app) steps up to a
    // passkey first, as the client whose minimum it is (or sets one up inside that sign-in).
    // Nor a session whose passkey the attestation policy does not approve (one from the account page,
    // or from before the policy): the console client's sign-in asks for an approved key.
    const unapproved = deps.approvedKeysOnly && usedPasskey(session.amr) && !session.amr.includes(APPROVED_KEY_METHOD);
    if (rankOf(session.acr) < PASSKEY_RANK || unapproved) {
      signIn.start(ctx, returnTo, undefined, CONSOLE_PASSKEY_CLIENT_ID);
      return null;
    }
    return { session, operator: { userId: user.id, email: user.email, actor: operatorActor(user.id, ctx.ip) } };
  }

  return {
    /** The operator, or a redirect to sign in (then null); a 403 for anyone else. */
    async operator(ctx: Context): Promise<Operator | null> {
      return (await operatorOf(ctx, returnHere(ctx)))?.operator ?? null;
    },

    /** The operator when their passkey check is recent; else a redirect to verify again that returns to `returnTo` (then null). */
    async recentlyVerified(ctx: Context, returnTo: string): Promise<Operator | null> {
      const found = await operatorOf(ctx, returnTo);
      if (!found) return null;
      // Whole seconds, as oidc-provider's max_age check counts them (so the two agree on "too old").
      if (Math.floor(Date.now() / 1000) - found.session.loginTs <= deps.reverifySeconds) return found.operator;
      signIn.start(ctx, returnTo, { acr: ACR.passkey, maxAge: deps.reverifySeconds }, CONSOLE_PASSKEY_CLIENT_ID);
      return null;
    },
  };
}

export type ConsoleAccess = ReturnType<typeof createConsoleAccess>;
