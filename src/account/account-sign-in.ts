import type Provider from "oidc-provider";
import { createFirstPartySignIn, type FirstPartySession } from "../auth/first-party-sign-in.js";
import { badRequest } from "../errors.js";
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from "./account-client.js";

export type AccountSession = FirstPartySession;

const RETURN_PATH = /^\/account(\/[a-z0-9-]+)*$/;

/** Only our own account pages: never an open redirect. */
export const safeReturnPath = (value: unknown) => (typeof value === "string" && RETURN_PATH.test(value) ? value : "/account");

/** The account pages' sign-in, as the built-in client `idp-account` (first-party-sign-in.ts). */
export function createAccountSignIn(deps: { provider: Provider; issuer: string; secureCookies: boolean }) {
  return createFirstPartySignIn(deps, {
    clientId: ACCOUNT_CLIENT_ID,
    home: "/account",
    callbackUrl: accountCallbackUrl(deps.issuer),
    returnPath: RETURN_PATH,
    cookieName: { secure: "__Secure-account-flow", plain: "idp_account_flow" },
    failed: () => badRequest("account.sign_in_failed", "Signing in to your account did not complete. Start again from the account page."),
    cancelled: () => badRequest("account.sign_in_cancelled", "Signing in was cancelled. Start again from the account page."),
  });
}

export type AccountSignIn = ReturnType<typeof createAccountSignIn>;
