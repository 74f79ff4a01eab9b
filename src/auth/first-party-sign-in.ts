import { createHash, randomBytes } from "node:crypto";
import type { Context } from "koa";
import type Provider from "oidc-provider";
import { constantTimeEqual } from "../crypto/hash.js";
import type { AppError } from "../errors.js";

export interface FirstPartySession {
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
  /** The built-in client this flow signs in as (the code must be its). */
  clientId: string;
}

const FLOW_SECONDS = 600;

export interface FirstPartyClient {
  clientId: string;
  /** Other built-in clients the same pages may sign in as (same callback), e.g. one with a higher minimum. */
  otherClientIds?: readonly string[];
  /** Where its pages live (the flow cookie's path) and where a flow returns by default. */
  home: string;
  callbackUrl: string;
  /** The pages a flow may return to: never an open redirect. */
  returnPath: RegExp;
  cookieName: { secure: string; plain: string };
  failed: () => AppError;
  cancelled: () => AppError;
}

/**
 * Signs people in to the IdP's own pages through the authorization endpoint, as a built-in client,
 * and reads the IdP session those pages run on. The code is consumed here (single use, PKCE
 * checked); the state is bound to this browser by a signed cookie (no login CSRF).
 */
export function createFirstPartySignIn(deps: { provider: Provider; issuer: string; secureCookies: boolean }, client: FirstPartyClient) {
  const { provider, issuer } = deps;
  const cookie = deps.secureCookies ? client.cookieName.secure : client.cookieName.plain;
  const cookieOptions = { httpOnly: true, sameSite: "lax" as const, secure: deps.secureCookies, signed: true, path: client.home, overwrite: true };
  const safeReturnPath = (value: unknown) => (typeof value === "string" && client.returnPath.test(value) ? value : client.home);

  return {
    safeReturnPath,

    async current(ctx: Context): Promise<FirstPartySession | null> {
      const session = await provider.Session.get(ctx as never);
      if (!session.accountId || !session.loginTs) return null;
      return { userId: session.accountId, sessionUid: session.uid, loginTs: session.loginTs, acr: session.acr, amr: session.amr ?? [] };
    },

    /**
     * Sends the browser to sign in (as `as`, one of the pages' built-in clients); with `reverify`, a
     * verification within `maxAge` at least at level `acr`.
     */
    start(ctx: Context, returnTo: string, reverify?: { acr: string; maxAge: number }, as = client.clientId) {
      if (as !== client.clientId && !client.otherClientIds?.includes(as)) throw new Error(`not a client of these pages: ${as}`);
      const flow: Flow = {
        state: randomBytes(16).toString("base64url"),
        verifier: randomBytes(32).toString("base64url"),
        returnTo: safeReturnPath(returnTo),
        clientId: as,
      };
      ctx.cookies.set(cookie, Buffer.from(JSON.stringify(flow)).toString("base64url"), { ...cookieOptions, maxAge: FLOW_SECONDS * 1000 });
      const url = new URL("/auth", issuer);
      url.search = new URLSearchParams({
        client_id: as,
        response_type: "code",
        redirect_uri: client.callbackUrl,
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
        throw client.failed();
      }
      const { state, code, iss, error } = ctx.query;
      if (typeof state !== "string" || typeof flow?.state !== "string" || !constantTimeEqual(state, flow.state) || iss !== issuer) throw client.failed();
      if (typeof error === "string") throw client.cancelled();
      if (typeof code !== "string") throw client.failed();
      const issued = await provider.AuthorizationCode.find(code);
      const challenge = createHash("sha256").update(String(flow.verifier)).digest("base64url");
      // The code must be of the client this browser's flow started with (never another app's code).
      const expected = flow.clientId ?? client.clientId;
      const ours = expected === client.clientId || client.otherClientIds?.includes(expected);
      if (!issued || !ours || issued.clientId !== expected || issued.isExpired || issued.codeChallenge !== challenge) throw client.failed();
      await issued.destroy();
      return safeReturnPath(flow.returnTo);
    },
  };
}

export type FirstPartySignIn = ReturnType<typeof createFirstPartySignIn>;
