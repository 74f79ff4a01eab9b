import { createHash, randomBytes } from "node:crypto";
import type { Context } from "koa";
import type Provider from "oidc-provider";
import { constantTimeEqual } from "../crypto/hash.js";
import { badRequest } from "../errors.js";
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from "./account-client.js";

export interface AccountSession {
  userId: string;
  sessionUid: string;
  /** auth_time: when the user last verified (sign-in or step-up), in seconds. */
  loginTs: number;
  acr: string | undefined;
  amr: string[];
}

interface Flow {
  state: string;
  verifier: string;
  returnTo: string;
}

const RETURN_PATH = /^\/account(\/[a-z0-9-]+)*$/;
const FLOW_SECONDS = 600;

/** Only our own account pages: never an open redirect. */
export const safeReturnPath = (value: unknown) => (typeof value === "string" && RETURN_PATH.test(value) ? value : "/account");

const failed = () => badRequest("account.sign_in_failed", "Signing in to your account did not complete. Start again from the account page.");

/**
 * Signs people in to the account pages through the authorization endpoint (the built-in client),
 * and reads the IdP session those pages run on. The code is consumed here (single use, PKCE
 * checked); the state is bound to this browser by a signed cookie (no login CSRF).
 */
export function createAccountSignIn(deps: { provider: Provider; issuer: string; secureCookies: boolean }) {
  const { provider, issuer } = deps;
  const cookie = deps.secureCookies ? "__Secure-account-flow" : "idp_account_flow";
  const cookieOptions = { httpOnly: true, sameSite: "lax" as const, secure: deps.secureCookies, signed: true, path: "/account", overwrite: true };

  return {
    async current(ctx: Context): Promise<AccountSession | null> {
      const session = await provider.Session.get(ctx as never);
      if (!session.accountId || !session.loginTs) return null;
      return { userId: session.accountId, sessionUid: session.uid, loginTs: session.loginTs, acr: session.acr, amr: session.amr ?? [] };
    },

    /** Sends the browser to sign in; with `reverify`, a verification within `maxAge` at least at level `acr`. */
    start(ctx: Context, returnTo: string, reverify?: { acr: string; maxAge: number }) {
      const flow: Flow = { state: randomBytes(16).toString("base64url"), verifier: randomBytes(32).toString("base64url"), returnTo: safeReturnPath(returnTo) };
      ctx.cookies.set(cookie, Buffer.from(JSON.stringify(flow)).toString("base64url"), { ...cookieOptions, maxAge: FLOW_SECONDS * 1000 });
      const url = new URL("/auth", issuer);
      url.search = new URLSearchParams({
        client_id: ACCOUNT_CLIENT_ID,
        response_type: "code",
        redirect_uri: accountCallbackUrl(issuer),
        scope: "openid",
        state: flow.state,
        code_challenge: createHash("sha256").update(flow.verifier).digest("base64url"),
        code_challenge_method: "S256",
        ...(reverify ? { max_age: String(reverify.maxAge), acr_values: reverify.acr } : {}),
      }).toString();
      ctx.status = 303;
      ctx.redirect(url.toString());
    },

    /** Checks the authorization response and uses its code up; returns where to go. */
    async callback(ctx: Context): Promise<string> {
      const raw = ctx.cookies.get(cookie, { signed: true });
      ctx.cookies.set(cookie, null, cookieOptions);
      let flow: Flow;
      try {
        flow = JSON.parse(Buffer.from(raw ?? "", "base64url").toString("utf8")) as Flow;
      } catch {
        throw failed();
      }
      const { state, code, iss, error } = ctx.query;
      if (typeof state !== "string" || !flow?.state || !constantTimeEqual(state, flow.state) || iss !== issuer) throw failed();
      if (typeof error === "string") throw badRequest("account.sign_in_cancelled", "Signing in was cancelled. Start again from the account page.");
      if (typeof code !== "string") throw failed();
      const issued = await provider.AuthorizationCode.find(code);
      const challenge = createHash("sha256").update(flow.verifier).digest("base64url");
      if (!issued || issued.clientId !== ACCOUNT_CLIENT_ID || issued.isExpired || issued.codeChallenge !== challenge) throw failed();
      await issued.destroy();
      return safeReturnPath(flow.returnTo);
    },
  };
}

export type AccountSignIn = ReturnType<typeof createAccountSignIn>;
