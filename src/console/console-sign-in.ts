import type Provider from "oidc-provider";
import { createFirstPartySignIn } from "../auth/first-party-sign-in.js";
import { badRequest } from "../errors.js";
import { CONSOLE_CLIENT_ID, CONSOLE_PASSKEY_CLIENT_ID, consoleCallbackUrl } from "./console-client.js";

// The console's own pages only: never an open redirect, and never the JSON API.
const RETURN_PATH = /^\/admin(?!\/api(\/|$))(\/[A-Za-z0-9_-]+)*$/;

/** The console's sign-in, as the built-in clients `idp-console` and `idp-console-passkey` (console-client.ts). */
export function createConsoleSignIn(deps: { provider: Provider; issuer: string; secureCookies: boolean }) {
  return createFirstPartySignIn(deps, {
    clientId: CONSOLE_CLIENT_ID,
    otherClientIds: [CONSOLE_PASSKEY_CLIENT_ID],
    home: "/admin",
    callbackUrl: consoleCallbackUrl(deps.issuer),
    returnPath: RETURN_PATH,
    cookieName: { secure: "__Secure-console-flow", plain: "idp_console_flow" },
    failed: () => badRequest("console.sign_in_failed", "Signing in to the console did not complete. Start again from the console."),
    cancelled: () => badRequest("console.sign_in_cancelled", "Signing in was cancelled. Start again from the console."),
  });
}
